// The metrics exporter the stack deploys: oliver006/redis_exporter's collector, used as the Go
// package its module pins in go.mod, under a main of the stack's own. The main takes only the flags
// the stack passes (metrics/exporterConfig.ts), never the environment, and with -valkeyauth it adds
// the directory-login module's INFO section: the upstream exporter reports only the INFO fields it
// knows by name and drops a module's own. It also reports when each certificate of the node's TLS
// expires (certificates.go), which the upstream exporter does not.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/oliver006/redis_exporter/exporter"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	log "github.com/sirupsen/logrus"
)

// BuildVersion is the upstream exporter's version, set by metrics/tool.sh at build time.
var BuildVersion = "unknown"

// The namespace of every metric, the upstream exporter's default, which the alert rules name.
const namespace = "redis"

type options struct {
	addr, user, passwordFile  string
	caFile, certFile, keyFile string
	configCommand, listen     string
	setClientName             bool
	disableScrape, valkeyauth bool
	connectionTimeout         time.Duration
	showVersion               bool
}

func parseFlags(args []string) (options, error) {
	var o options
	flags := flag.NewFlagSet("redis_exporter", flag.ContinueOnError)
	flags.StringVar(&o.addr, "redis.addr", "", "the server to scrape, rediss://HOST:PORT")
	flags.StringVar(&o.user, "redis.user", "", "the ACL user to log in as")
	flags.StringVar(&o.passwordFile, "redis.password-file", "", "a JSON file of passwords keyed by rediss://USER@HOST:PORT")
	flags.StringVar(&o.caFile, "tls-ca-cert-file", "", "the CA the server's certificate must chain to")
	flags.StringVar(&o.certFile, "tls-client-cert-file", "", "the client certificate")
	flags.StringVar(&o.keyFile, "tls-client-key-file", "", "the client certificate's key")
	flags.BoolVar(&o.setClientName, "set-client-name", true, "send CLIENT SETNAME")
	flags.StringVar(&o.configCommand, "config-command", "CONFIG", `the CONFIG command's name; "-" sends none`)
	flags.BoolVar(&o.disableScrape, "disable-scrape-endpoint", false, "turn off /scrape?target=")
	flags.StringVar(&o.listen, "web.listen-address", ":9121", "where /metrics is served")
	flags.BoolVar(&o.valkeyauth, "valkeyauth", false, "report the directory-login module's INFO valkeyauth")
	flags.DurationVar(&o.connectionTimeout, "connection-timeout", 15*time.Second, "connect, read and write timeout")
	flags.BoolVar(&o.showVersion, "version", false, "print the version and exit")
	if err := flags.Parse(args); err != nil {
		return o, err
	}
	if flags.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q: every setting is a flag", flags.Arg(0))
	}
	if !o.showVersion && o.addr == "" {
		return o, errors.New("-redis.addr is required")
	}
	return o, nil
}

func main() {
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "redis_exporter: %v\n", err)
		os.Exit(2)
	}
	if o.showVersion {
		fmt.Printf("redis_exporter %s (molis-valkey main, valkeyauth collector)\n", BuildVersion)
		return
	}
	passwords := map[string]string{}
	if o.passwordFile != "" {
		if passwords, err = exporter.LoadPwdFile(o.passwordFile); err != nil {
			log.Fatalf("cannot read the password file %s: %v", o.passwordFile, err)
		}
	}
	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	exp, err := exporter.NewRedisExporter(o.addr, exporter.Options{
		User:                         o.user,
		PasswordMap:                  passwords,
		RedisPwdFile:                 o.passwordFile,
		Namespace:                    namespace,
		ConfigCommandName:            o.configCommand,
		CheckKeysBatchSize:           1000,
		MaxDistinctKeyGroups:         100,
		CheckSearchIndexes:           ".*",
		RedactConfigMetrics:          true,
		SetClientName:                o.setClientName,
		ClientCertFile:               o.certFile,
		ClientKeyFile:                o.keyFile,
		CaCertFile:                   o.caFile,
		ConnectionTimeouts:           o.connectionTimeout,
		MetricsPath:                  "/metrics",
		Registry:                     registry,
		BuildInfo:                    exporter.BuildInfo{Version: BuildVersion, CommitSha: "", Date: ""},
		DisableScrapeEndpoint:        o.disableScrape,
		InclMetricsForEmptyDatabases: true,
	})
	if err != nil {
		log.Fatal(err)
	}
	tlsConfig, err := exp.CreateClientTLSConfig()
	if err != nil {
		log.Fatal(err)
	}
	registry.MustRegister(newCertificateCollector(o.addr, o.caFile, o.certFile, tlsConfig, o.connectionTimeout))
	if o.valkeyauth {
		dial := []redis.DialOption{
			redis.DialConnectTimeout(o.connectionTimeout),
			redis.DialReadTimeout(o.connectionTimeout),
			redis.DialWriteTimeout(o.connectionTimeout),
			redis.DialTLSConfig(tlsConfig),
			redis.DialUseTLS(strings.HasPrefix(o.addr, "rediss://")),
		}
		if o.user != "" {
			dial = append(dial, redis.DialUsername(o.user))
		}
		if password, ok := passwordFor(passwords, o.addr, o.user); ok {
			dial = append(dial, redis.DialPassword(password))
		}
		registry.MustRegister(newValkeyauthCollector(o.addr, dial))
	}

	log.Infof("redis_exporter %s serving /metrics on %s", BuildVersion, o.listen)
	server := &http.Server{Addr: o.listen, Handler: exp, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := server.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Fatalf("cannot serve on %s: %v", o.listen, err)
		}
	}()
	quit := make(chan os.Signal, 1)
	signal.Notify(quit, syscall.SIGINT, syscall.SIGTERM)
	<-quit
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := server.Shutdown(ctx); err != nil {
		log.Fatalf("shutdown: %v", err)
	}
}

// passwordFor looks the password up as the upstream exporter does: by the address with the user in it.
func passwordFor(passwords map[string]string, addr, user string) (string, bool) {
	u, err := url.Parse(addr)
	if err != nil {
		return "", false
	}
	if user != "" {
		u.User = url.User(user)
	}
	password, ok := passwords[u.String()]
	return password, ok && password != ""
}

// valkeyauthCollector reads INFO valkeyauth on a connection of its own at each scrape.
type valkeyauthCollector struct {
	addr string
	dial []redis.DialOption

	up, servers, serversDown, cacheEntries      *prometheus.Desc
	allowed, refused, cacheHits, cacheMisses    *prometheus.Desc
	directoryChecks, directoryConnectionsOpened *prometheus.Desc
}

func newValkeyauthCollector(addr string, dial []redis.DialOption) *valkeyauthCollector {
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(namespace, "valkeyauth", name), help, labels, nil)
	}
	return &valkeyauthCollector{
		addr:                       addr,
		dial:                       dial,
		up:                         desc("up", "1 when the server answered INFO valkeyauth with the module's section, 0 when it could not be read or the module is not loaded."),
		servers:                    desc("servers", "Directory servers configured."),
		serversDown:                desc("servers_down", "Directory servers the module found unreachable (probed every 5 s)."),
		cacheEntries:               desc("cache_entries", "People whose login is remembered."),
		allowed:                    desc("logins_allowed_total", "Logins of people the module allowed."),
		refused:                    desc("logins_refused_total", "Logins of people the module refused, by reason.", "reason"),
		cacheHits:                  desc("cache_hits_total", "Logins allowed from the cache."),
		cacheMisses:                desc("cache_misses_total", "Logins that had to ask the directory."),
		directoryChecks:            desc("directory_checks_total", "Logins checked against the directory."),
		directoryConnectionsOpened: desc("directory_connections_opened_total", "Connections opened to the directory for logins."),
	}
}

func (c *valkeyauthCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.up, c.servers, c.serversDown, c.cacheEntries, c.allowed, c.refused, c.cacheHits, c.cacheMisses, c.directoryChecks, c.directoryConnectionsOpened} {
		ch <- d
	}
}

func (c *valkeyauthCollector) Collect(ch chan<- prometheus.Metric) {
	fields, err := c.read()
	if err != nil {
		log.Errorf("INFO valkeyauth on %s: %v", c.addr, err)
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
	gauges := map[string]*prometheus.Desc{"servers": c.servers, "servers_down": c.serversDown, "cache_size": c.cacheEntries}
	counters := map[string]*prometheus.Desc{
		"logins_allowed":               c.allowed,
		"cache_hits":                   c.cacheHits,
		"cache_misses":                 c.cacheMisses,
		"directory_checks":             c.directoryChecks,
		"directory_connections_opened": c.directoryConnectionsOpened,
	}
	for name, value := range fields {
		switch {
		case gauges[name] != nil:
			ch <- prometheus.MustNewConstMetric(gauges[name], prometheus.GaugeValue, value)
		case counters[name] != nil:
			ch <- prometheus.MustNewConstMetric(counters[name], prometheus.CounterValue, value)
		case strings.HasPrefix(name, "refused_"):
			ch <- prometheus.MustNewConstMetric(c.refused, prometheus.CounterValue, value, strings.TrimPrefix(name, "refused_"))
		}
	}
}

// read returns the section's numeric fields without their valkeyauth_ prefix.
func (c *valkeyauthCollector) read() (map[string]float64, error) {
	conn, err := redis.DialURL(c.addr, c.dial...)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	info, err := redis.String(conn.Do("INFO", "valkeyauth"))
	if err != nil {
		return nil, err
	}
	fields := map[string]float64{}
	for _, line := range strings.Split(info, "\r\n") {
		name, value, found := strings.Cut(line, ":")
		if !found || !strings.HasPrefix(name, "valkeyauth_") {
			continue
		}
		if number, err := strconv.ParseFloat(value, 64); err == nil {
			fields[strings.TrimPrefix(name, "valkeyauth_")] = number
		}
	}
	if len(fields) == 0 {
		return nil, errors.New("no valkeyauth section: the directory-login module is not loaded")
	}
	return fields, nil
}
