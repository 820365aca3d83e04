package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	log "github.com/sirupsen/logrus"
)

// certificateCollector reports when each certificate the node's TLS rests on stops being valid, one
// series per certificate: every CA in the trust bundle the exporter holds (the members' own), the
// exporter's client certificate, and the chain the server presents. The exporter's own files are
// read once, at its start, as the upstream exporter loads them for its TLS (a new file comes with
// a new exporter container). The chain is read on a TLS connection of the collector's own that
// only handshakes, at most once per refresh interval (a certificate changes only when its member is
// replaced), so a scrape adds no handshake.
type certificateCollector struct {
	addr             string
	held             []heldCertificate
	tlsConfig        *tls.Config
	timeout, refresh time.Duration

	mu        sync.Mutex
	presented []*x509.Certificate
	readAt    time.Time

	notAfter *prometheus.Desc
}

// heldCertificate is one certificate of the exporter's own files, with the kind it is reported as.
type heldCertificate struct {
	kind string
	cert *x509.Certificate
}

func newCertificateCollector(addr, caFile, certFile string, tlsConfig *tls.Config, timeout time.Duration) *certificateCollector {
	var held []heldCertificate
	for _, file := range []struct{ kind, path string }{{"ca", caFile}, {"client", certFile}} {
		if file.path == "" {
			continue
		}
		certs, err := certificatesIn(file.path)
		if err != nil {
			log.Errorf("certificates in %s: %v", file.path, err)
			continue
		}
		for _, cert := range certs {
			held = append(held, heldCertificate{file.kind, cert})
		}
	}
	return &certificateCollector{
		addr:      addr,
		held:      held,
		tlsConfig: tlsConfig,
		timeout:   timeout,
		refresh:   10 * time.Minute,
		notAfter: prometheus.NewDesc(
			prometheus.BuildFQName(namespace, "tls", "certificate_not_after_seconds"),
			"When the certificate stops being valid (Unix time): each CA of the trust bundle (certificate=\"ca\"), the exporter's client certificate (\"client\"), and each certificate the server presents (\"server\" for its own, \"server-chain\" for one it sends with it).",
			[]string{"certificate", "subject", "issuer", "serial"}, nil,
		),
	}
}

func (c *certificateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.notAfter
}

func (c *certificateCollector) Collect(ch chan<- prometheus.Metric) {
	report := func(kind string, cert *x509.Certificate) {
		ch <- prometheus.MustNewConstMetric(c.notAfter, prometheus.GaugeValue, float64(cert.NotAfter.Unix()),
			kind, cert.Subject.String(), cert.Issuer.String(), cert.SerialNumber.Text(16))
	}
	for _, h := range c.held {
		report(h.kind, h.cert)
	}
	for i, cert := range c.serverChain() {
		kind := "server"
		if i > 0 {
			kind = "server-chain"
		}
		report(kind, cert)
	}
}

// serverChain is the chain the server presented at the last handshake, read again once it is older
// than the refresh interval; a failed handshake keeps the last one (and is logged: redis_up says
// the server cannot be reached).
func (c *certificateCollector) serverChain() []*x509.Certificate {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.presented != nil && time.Since(c.readAt) < c.refresh {
		return c.presented
	}
	chain, err := c.handshake()
	if err != nil {
		log.Errorf("reading the certificates %s presents: %v", c.addr, err)
		return c.presented
	}
	c.presented, c.readAt = chain, time.Now()
	return chain
}

func (c *certificateCollector) handshake() ([]*x509.Certificate, error) {
	u, err := url.Parse(c.addr)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "rediss" {
		return nil, fmt.Errorf("%s is not a TLS address (rediss://)", c.addr)
	}
	config := c.tlsConfig.Clone()
	if config.ServerName == "" {
		config.ServerName = u.Hostname()
	}
	dialer := &tls.Dialer{NetDialer: &net.Dialer{Timeout: c.timeout}, Config: config}
	conn, err := dialer.Dial("tcp", u.Host)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.(*tls.Conn).ConnectionState().PeerCertificates, nil
}

// certificatesIn parses every CERTIFICATE block of a PEM file.
func certificatesIn(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		certs = append(certs, cert)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("no certificate in %s", path)
	}
	return certs, nil
}
