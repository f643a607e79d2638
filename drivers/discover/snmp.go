package discover

import (
	"context"
	"fmt"
	"strings"

	"github.com/gosnmp/gosnmp"
)

// The system group of MIB-II (RFC 1213): the three objects that identify a
// device without knowing its maker.
const (
	oidSysDescr    = "1.3.6.1.2.1.1.1.0"
	oidSysObjectID = "1.3.6.1.2.1.1.2.0"
	oidSysName     = "1.3.6.1.2.1.1.5.0"
)

var authProtocols = map[string]gosnmp.SnmpV3AuthProtocol{
	"": gosnmp.NoAuth, "MD5": gosnmp.MD5, "SHA": gosnmp.SHA, "SHA224": gosnmp.SHA224,
	"SHA256": gosnmp.SHA256, "SHA384": gosnmp.SHA384, "SHA512": gosnmp.SHA512,
}

var privProtocols = map[string]gosnmp.SnmpV3PrivProtocol{
	"": gosnmp.NoPriv, "DES": gosnmp.DES, "AES": gosnmp.AES, "AES192": gosnmp.AES192, "AES256": gosnmp.AES256,
}

// snmpProber tries the configured credentials on one host until one
// answers. A host without an agent answers ICMP port unreachable, which
// ends the attempt at once; a filtered one costs the timeout.
type snmpProber struct {
	cfg SNMPConfig
}

func (s *snmpProber) identify(ctx context.Context, ip string) *SNMPIdentity {
	for _, c := range s.clients(ctx, ip) {
		if ctx.Err() != nil {
			return nil
		}
		if id := s.ask(c.g, c.via); id != nil {
			return id
		}
	}
	return nil
}

type snmpClient struct {
	g   *gosnmp.GoSNMP
	via string
}

// clients builds one client per credential, v3 users first: where an agent
// has both, the v3 answer was not sent in clear text.
func (s *snmpProber) clients(ctx context.Context, ip string) []snmpClient {
	base := func() *gosnmp.GoSNMP {
		return &gosnmp.GoSNMP{
			Target: ip, Port: uint16(s.cfg.Port), Timeout: s.cfg.Timeout, Retries: 0,
			Context: ctx, MaxOids: 3, ExponentialTimeout: false,
		}
	}
	var out []snmpClient
	for _, u := range s.cfg.Users {
		g := base()
		g.Version = gosnmp.Version3
		g.SecurityModel = gosnmp.UserSecurityModel
		auth := authProtocols[strings.ToUpper(u.AuthProtocol)]
		priv := privProtocols[strings.ToUpper(u.PrivProtocol)]
		g.MsgFlags = gosnmp.NoAuthNoPriv
		if auth != gosnmp.NoAuth {
			g.MsgFlags = gosnmp.AuthNoPriv
			if priv != gosnmp.NoPriv {
				g.MsgFlags = gosnmp.AuthPriv
			}
		}
		g.SecurityParameters = &gosnmp.UsmSecurityParameters{
			UserName:                 u.User,
			AuthenticationProtocol:   auth,
			AuthenticationPassphrase: u.AuthPassword.Reveal(),
			PrivacyProtocol:          priv,
			PrivacyPassphrase:        u.PrivPassword.Reveal(),
		}
		out = append(out, snmpClient{g, "v3 user " + u.User})
	}
	for i, c := range s.cfg.Communities {
		g := base()
		g.Version = gosnmp.Version2c
		g.Community = c.Reveal()
		out = append(out, snmpClient{g, fmt.Sprintf("v2c community #%d", i+1)})
	}
	return out
}

func (s *snmpProber) ask(g *gosnmp.GoSNMP, via string) *SNMPIdentity {
	if err := g.Connect(); err != nil {
		return nil
	}
	defer g.Conn.Close()
	pkt, err := g.Get([]string{oidSysDescr, oidSysObjectID, oidSysName})
	if err != nil || pkt == nil {
		return nil
	}
	id := identityFromVars(pkt.Variables)
	if id == nil {
		return nil
	}
	id.Via = via
	return id
}

// identityFromVars turns the GET response into an identity, or nil when
// the agent answered none of the three objects.
func identityFromVars(vars []gosnmp.SnmpPDU) *SNMPIdentity {
	var id SNMPIdentity
	for _, v := range vars {
		name := strings.TrimPrefix(v.Name, ".")
		switch v.Type {
		case gosnmp.NoSuchObject, gosnmp.NoSuchInstance, gosnmp.EndOfMibView, gosnmp.Null:
			continue
		}
		switch name {
		case oidSysDescr:
			id.SysDescr = cleanText(pduText(v), 255)
		case oidSysName:
			id.SysName = cleanText(pduText(v), 255)
		case oidSysObjectID:
			if s, ok := v.Value.(string); ok && v.Type == gosnmp.ObjectIdentifier {
				id.SysObjectID = cleanText(s, 255)
			}
		}
	}
	if id == (SNMPIdentity{}) {
		return nil
	}
	return &id
}

func pduText(v gosnmp.SnmpPDU) string {
	switch x := v.Value.(type) {
	case []byte:
		return string(x)
	case string:
		return x
	}
	return ""
}
