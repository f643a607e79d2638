package config

import (
	"crypto/ed25519"
	"encoding/base64"
	"time"
)

// Commands configures remote control over MQTT (cmd/{name}, see
// docs/commands.md).
type Commands struct {
	// RequireSignature lists the commands that run only when signed by one
	// of Keys; "*" means every command. Default: set-config,
	// update-install and restart, the commands that can take a box off
	// the network. An explicit empty list requires no signatures.
	RequireSignature []string `yaml:"require_signature"`
	// Keys are the provider's Ed25519 public keys, base64 of 32 bytes
	// each. Without keys, commands that require a signature are refused.
	Keys []string `yaml:"keys"`
	// MaxSkew is how far a signed command's ts may be from the box's
	// clock. Default 5m.
	MaxSkew time.Duration `yaml:"max_skew"`
	// ConfirmTimeout is how long after set-config the uplink has to be
	// back before the previous config is restored. Default 2m.
	ConfirmTimeout time.Duration `yaml:"confirm_timeout"`
}

// CommandNames are the commands the gateway knows, for checking
// commands.require_signature.
var CommandNames = []string{"ping", "poll-now", "discover-now", "get-config", "set-config", "ack-alarm",
	"update-check", "update-install", "restart", "support-bundle", "get-log", "ups-selftest",
	"notify-test", "coldchain-report", "coldchain-verify"}

// DefaultRequireSignature is the default of commands.require_signature.
var DefaultRequireSignature = []string{"set-config", "update-install", "restart", "ups-selftest", "notify-test", "coldchain-verify"}

const (
	defaultMaxSkew        = 5 * time.Minute
	defaultConfirmTimeout = 2 * time.Minute
)

func (l *loader) validateCommands() {
	c := l.cfg.Commands
	known := append([]string{"*"}, CommandNames...)
	for i, n := range c.RequireSignature {
		l.oneOf(indexPath("commands.require_signature", i), n, known...)
	}
	for i, k := range c.Keys {
		raw, err := base64.StdEncoding.DecodeString(k)
		if err != nil || len(raw) != ed25519.PublicKeySize {
			l.problem(indexPath("commands.keys", i), "want an Ed25519 public key as base64 of %d bytes", ed25519.PublicKeySize)
		}
	}
	l.atLeast("commands.max_skew", c.MaxSkew, 10*time.Second)
	l.atLeast("commands.confirm_timeout", c.ConfirmTimeout, 10*time.Second)
}

func (l *loader) fillCommandDefaults() {
	c := &l.cfg.Commands
	if c.RequireSignature == nil {
		c.RequireSignature = append([]string(nil), DefaultRequireSignature...)
	}
	setDur(&c.MaxSkew, defaultMaxSkew)
	setDur(&c.ConfirmTimeout, defaultConfirmTimeout)
}
