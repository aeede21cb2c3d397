package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// simulator stands in for the exchanges: one HTTPS listener for REST and
// wss://, one plain listener for ws://. Paths are /<exchange>/ticker and
// /<exchange>/trades.
type simulator struct {
	tlsSrv, plainSrv *http.Server
	tlsLn, plainLn   net.Listener
	roots            *x509.CertPool
	conns            atomic.Int64 // TCP connections accepted, both listeners
}

func startSimulator() (*simulator, error) {
	cert, roots, err := demoCertificate()
	if err != nil {
		return nil, err
	}
	s := &simulator{roots: roots}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{exchange}/ticker", s.ticker)
	mux.HandleFunc("GET /{exchange}/trades", s.trades)
	s.tlsSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ConnState: s.countConn}
	s.plainSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ConnState: s.countConn}
	if s.tlsLn, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		return nil, err
	}
	if s.plainLn, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		s.tlsLn.Close()
		return nil, err
	}
	tlsLn := tls.NewListener(s.tlsLn, &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}})
	go func() { _ = s.tlsSrv.Serve(tlsLn) }()
	go func() { _ = s.plainSrv.Serve(s.plainLn) }()
	return s, nil
}

func (s *simulator) countConn(_ net.Conn, st http.ConnState) {
	if st == http.StateNew {
		s.conns.Add(1)
	}
}

// restURL and streamURL address the simulator with the host name
// "localhost": socks5h, socks4a and HTTP proxies receive the name, socks5
// and direct routes resolve it here.
func (s *simulator) restURL(exchange string) string {
	return "https://localhost:" + port(s.tlsLn) + "/" + exchange + "/ticker"
}

func (s *simulator) streamURL(exchange string, secure bool) string {
	if secure {
		return "wss://localhost:" + port(s.tlsLn) + "/" + exchange + "/trades"
	}
	return "ws://localhost:" + port(s.plainLn) + "/" + exchange + "/trades"
}

func port(ln net.Listener) string { return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port) }

func (s *simulator) close() {
	s.tlsSrv.Close()
	s.plainSrv.Close()
}

func (s *simulator) ticker(w http.ResponseWriter, r *http.Request) {
	ex := r.PathValue("exchange")
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"exchange": ex, "symbol": "BTC-USD", "price": price(ex, 0), "proto": r.Proto,
	})
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

// trades streams n trade messages (query n, default 5), then closes.
func (s *simulator) trades(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.URL.Query().Get("n"))
	if err != nil || n <= 0 {
		n = 5
	}
	c, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer c.Close()
	ex := r.PathValue("exchange")
	for i := range n {
		msg := fmt.Sprintf(`{"exchange":%q,"seq":%d,"price":%s}`, ex, i+1, price(ex, i))
		if err := c.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
			return
		}
	}
	_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "done"), time.Now().Add(time.Second))
}

// price is a deterministic fake price per exchange and sequence number.
func price(exchange string, seq int) string {
	base := 60000
	for _, c := range exchange {
		base += int(c)
	}
	return strconv.Itoa(base+seq) + ".5"
}

// demoCertificate makes a throw-away CA and a leaf for localhost.
func demoCertificate() (tls.Certificate, *x509.CertPool, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "proxygen demo CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool, nil
}

// trimJSON shortens a JSON body for the report.
func trimJSON(b []byte) string {
	return strings.TrimSpace(string(b))
}
