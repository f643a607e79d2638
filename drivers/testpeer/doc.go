// Package testpeer starts real protocol peers (today: the Mosquitto MQTT
// broker) for tests all over the project, because the design forbids
// testing protocols only against our own fakes. Peers listen on free
// loopback ports, keep their config and logs in t.TempDir(), and stop in
// t.Cleanup. A missing peer binary fails the test instead of skipping it,
// so a test run can never pass silently without its peer.
//
// The package imports nothing from gateway, so drivers may use it.
package testpeer
