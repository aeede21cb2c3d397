package proxytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// connect runs an HTTP CONNECT handshake: one request, one status line.
// It returns the target connection, or nil when the handshake ended.
func (ss *session) connect() net.Conn {
	ss.set(func(r *Record) { r.Protocol = "http" })
	req, err := http.ReadRequest(ss.br)
	if err != nil {
		ss.fail("request: %v", err)
		return nil
	}
	if req.Body != nil {
		_ = req.Body.Close()
	}
	target := req.RequestURI
	host, _, _ := net.SplitHostPort(target)
	_, perr := netip.ParseAddr(host)
	ss.set(func(r *Record) { r.Target, r.TargetIsName = target, perr != nil })
	if pa := req.Header.Get("Proxy-Authorization"); pa != "" {
		user, pass, _ := parseBasic(pa)
		ss.set(func(r *Record) { r.User, r.Password, r.Auth = user, pass, true })
	}
	if ss.afterFirst([]byte("\x00\x01\x02garbage\xff\r\n\r\n")) {
		return nil
	}
	version := "HTTP/1.1"
	if ss.mis.WrongVersion {
		version = "HTTP/2.0"
	}
	status := func(code int, extra string) net.Conn {
		_ = ss.reply([]byte(version + " " + strconv.Itoa(code) + " " + http.StatusText(code) + "\r\n" + extra + "Content-Length: 0\r\nConnection: close\r\n\r\n"))
		ss.fail("answered %d", code)
		return nil
	}
	if req.Method != http.MethodConnect {
		return status(http.StatusMethodNotAllowed, "")
	}
	if ss.s.cfg.authRequired() {
		user, pass, ok := parseBasic(req.Header.Get("Proxy-Authorization"))
		if !ok || user != ss.s.cfg.User || pass != ss.s.cfg.Password {
			return status(http.StatusProxyAuthRequired, "Proxy-Authenticate: Basic realm=\"proxytest\"\r\n")
		}
	}
	if code := ss.mis.Status; code != 0 && code != 200 {
		extra := ""
		if code == http.StatusProxyAuthRequired {
			extra = "Proxy-Authenticate: Basic realm=\"proxytest\"\r\n"
		}
		return status(code, extra)
	}
	if ss.mis.WrongVersion {
		return status(200, "")
	}
	up, err := ss.s.dial(target)
	if err != nil {
		return status(http.StatusBadGateway, "")
	}
	rep := []byte(version + " 200 Connection established\r\n")
	if ss.mis.OversizedReply {
		rep = append(rep, "X-Padding: "...)
		rep = append(rep, strings.Repeat("a", 64<<10)...)
		rep = append(rep, "\r\n"...)
	}
	rep = append(rep, "\r\n"...)
	return ss.grant(up, rep)
}

// parseBasic decodes "Basic base64(user:pass)".
func parseBasic(h string) (user, pass string, ok bool) {
	scheme, enc, found := strings.Cut(h, " ")
	if !found || !strings.EqualFold(scheme, "Basic") {
		return "", "", false
	}
	dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
	if err != nil {
		return "", "", false
	}
	user, pass, ok = strings.Cut(string(dec), ":")
	return user, pass, ok
}

// selfSigned makes a throw-away certificate for loopback names.
func selfSigned() (*tls.Config, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic("proxytest: " + err.Error())
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "proxytest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic("proxytest: " + err.Error())
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		panic("proxytest: " + err.Error())
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}},
		NextProtos:   []string{"http/1.1"},
	}, pool
}
