// Package integrations holds the tests of what docs/integrations ships for
// the provider's own monitoring: the Telegraf configuration (into
// Prometheus), the Grafana dashboard and the Zabbix template. They are
// configuration, not Go code, and a configuration nobody ran rots
// silently, so each is run here against the real programs (Telegraf built
// from the module proxy, Debian's prometheus and zabbix-agent2) with the
// demo gateway publishing to a real Mosquitto.
//
// The package has no code of its own beyond its tests; it sits beside the
// files it tests, so a change to a configuration and its test travel
// together, and it adds no top-level folder to the repository.
package integrations
