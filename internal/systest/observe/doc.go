// Package observe holds the system tests of the observability adapters
// against real servers: a real Prometheus server scraping a program that
// dials through real proxies (danted, squid) with observe/proxyprom, its
// counters read back through Prometheus's HTTP API. It has no code outside
// its tests; it must not listen beyond loopback, leave a server running
// after a test, or let a credential reach an exposition, a log or an error.
package observe
