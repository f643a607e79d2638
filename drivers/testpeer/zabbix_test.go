package testpeer

import "testing"

func TestZabbixAgent2Passive(t *testing.T) {
	a := StartZabbixAgent2(t, ZabbixAgent2Options{Hostname: "testpeer"})
	if a.Port > 32767 || a.Port < 1024 {
		t.Fatalf("port %d outside what zabbix_agent2 accepts", a.Port)
	}
	v, err := a.ZabbixGet("agent.ping")
	if err != nil || v != "1" {
		t.Fatalf("zabbix_get agent.ping = %q, %v; want 1", v, err)
	}
	if v, _ := a.ZabbixGet("agent.hostname"); v != "testpeer" {
		t.Fatalf("agent.hostname = %q, want the configured testpeer", v)
	}
}
