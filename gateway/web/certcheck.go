package web

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"time"
)

// certProblem is a message key plus its argument, so the handler can show
// it in the technician's language.
type certProblem struct {
	Key string
	Arg string
}

func (p *certProblem) Error() string { return p.Key + " " + p.Arg }

// parseCerts decodes every CERTIFICATE block of a PEM upload.
func parseCerts(data []byte) ([]*x509.Certificate, *certProblem) {
	var out []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, &certProblem{"cert.parse", err.Error()}
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, &certProblem{Key: "cert.no_pem"}
	}
	return out, nil
}

func checkValidity(c *x509.Certificate, now time.Time) *certProblem {
	if now.After(c.NotAfter) {
		return &certProblem{"cert.expired", c.NotAfter.Format("2006-01-02")}
	}
	if now.Before(c.NotBefore) {
		return &certProblem{"cert.not_yet", c.NotBefore.Format("2006-01-02")}
	}
	return nil
}

// parseKey reads the first private key block (PKCS#8, PKCS#1 or SEC 1).
func parseKey(data []byte) (crypto.Signer, *certProblem) {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return nil, &certProblem{Key: "cert.no_pem"}
		}
		var k any
		var err error
		switch b.Type {
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		case "RSA PRIVATE KEY":
			k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
		case "EC PRIVATE KEY":
			k, err = x509.ParseECPrivateKey(b.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, &certProblem{"cert.key_parse", err.Error()}
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, &certProblem{"cert.key_parse", fmt.Sprintf("%T", k)}
		}
		return s, nil
	}
}

func sameKey(pub crypto.PublicKey, key crypto.Signer) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	switch p := pub.(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
		return p.(equaler).Equal(key.Public())
	}
	return false
}

// certUpload is what the settings page received; empty fields were not
// uploaded.
type certUpload struct {
	CA, Cert, Key []byte
}

// checkUpload validates an upload before anything is written: every
// certificate within its validity, the key belonging to the client
// certificate, and the client certificate chaining to the CA (the
// uploaded one, else the configured one, else the system roots).
func checkUpload(u certUpload, configuredCA []byte, now time.Time) map[string]*certProblem {
	probs := map[string]*certProblem{}
	var roots *x509.CertPool
	if len(u.CA) > 0 {
		cas, p := parseCerts(u.CA)
		if p != nil {
			probs["ca"] = p
		} else {
			roots = x509.NewCertPool()
			for _, c := range cas {
				if p := checkValidity(c, now); p != nil {
					probs["ca"] = p
					break
				}
				if !c.IsCA {
					probs["ca"] = &certProblem{Key: "cert.not_ca"}
					break
				}
				roots.AddCert(c)
			}
		}
	} else if len(configuredCA) > 0 {
		roots = x509.NewCertPool()
		roots.AppendCertsFromPEM(configuredCA)
	}
	if (len(u.Cert) > 0) != (len(u.Key) > 0) {
		probs["cert"] = &certProblem{Key: "cert.need_both"}
		return probs
	}
	if len(u.Cert) == 0 {
		return probs
	}
	certs, p := parseCerts(u.Cert)
	if p != nil {
		probs["cert"] = p
		return probs
	}
	leaf := certs[0]
	if p := checkValidity(leaf, now); p != nil {
		probs["cert"] = p
	}
	key, p := parseKey(u.Key)
	if p != nil {
		probs["key"] = p
	} else if !sameKey(leaf.PublicKey, key) {
		probs["key"] = &certProblem{Key: "cert.key_mismatch"}
	}
	if probs["ca"] == nil && probs["cert"] == nil {
		inter := x509.NewCertPool()
		for _, c := range certs[1:] {
			inter.AddCert(c)
		}
		_, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
		if err != nil {
			probs["cert"] = &certProblem{"cert.chain", err.Error()}
		}
	}
	return probs
}
