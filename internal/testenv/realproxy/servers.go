package realproxy

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Microsocks starts microsocks (SOCKS5) on a free loopback port. With a
// non-empty user it requires RFC 1929 username/password authentication.
// microsocks does not accept pipelined (optimistic) handshakes.
func Microsocks(t testing.TB, user, pass string) *Server {
	t.Helper()
	bin := requireBinary(t, "microsocks", "microsocks")
	s := newServer(t, "microsocks")
	s.User, s.Pass = user, pass
	startWithRetry(t, s, func() error {
		port := s.listenPort(t, s.Addr)
		s.Addr = "127.0.0.1:" + strconv.Itoa(port)
		argv := []string{bin, "-i", "127.0.0.1", "-p", strconv.Itoa(port)}
		if user != "" {
			argv = append(argv, "-u", user, "-P", pass)
		}
		p, err := s.start(t, "microsocks", nil, argv...)
		if err != nil {
			return err
		}
		return waitAccept(p, s.Addr)
	})
	return s
}

// Dante starts danted (SOCKS4 and SOCKS5, no authentication) on a free
// loopback port. Dante does not implement SOCKS4a. It must run as root here.
func Dante(t testing.TB) *Server {
	t.Helper()
	bin := requireBinary(t, "danted", "dante-server")
	requireRoot(t, "danted")
	s := newServer(t, "danted")
	startWithRetry(t, s, func() error {
		port := s.listenPort(t, s.Addr)
		s.Addr = "127.0.0.1:" + strconv.Itoa(port)
		conf := filepath.Join(s.Dir, "danted.conf")
		writeFile(t, conf, fmt.Sprintf(`logoutput: stderr
internal: 127.0.0.1 port = %d
external: lo
clientmethod: none
socksmethod: none
user.privileged: root
user.unprivileged: nobody
client pass {
	from: 127.0.0.0/8 to: 0.0.0.0/0
}
socks pass {
	from: 127.0.0.0/8 to: 0.0.0.0/0
	command: connect
	protocol: tcp
	log: connect error
}
`, port), 0o644)
		p, err := s.start(t, "danted", nil, bin, "-f", conf, "-p", filepath.Join(s.Dir, "danted.pid"))
		if err != nil {
			return err
		}
		return waitAccept(p, s.Addr)
	})
	return s
}

// SSHDynamic starts a private sshd on a free loopback port (throw-away host
// key and authorized_keys, key authentication only) and `ssh -N -D` logged in
// to it, whose SOCKS4/4a/5 listener is Addr. Targets are resolved and
// connected by sshd (remote DNS for socks4a and socks5h).
func SSHDynamic(t testing.TB) *Server {
	t.Helper()
	sshd := requireBinary(t, "sshd", "openssh-server")
	ssh := requireBinary(t, "ssh", "openssh-client")
	keygen := requireBinary(t, "ssh-keygen", "openssh-client")
	if os.Geteuid() == 0 {
		// sshd's privilege separation directory.
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			t.Logf("realproxy: mkdir /run/sshd: %v", err)
		}
	}
	u, err := user.Current()
	if err != nil {
		t.Fatalf("realproxy: current user: %v", err)
	}
	s := newServer(t, "ssh")
	hostKey := filepath.Join(s.Dir, "host_ed25519")
	clientKey := filepath.Join(s.Dir, "id_ed25519")
	for _, k := range []string{hostKey, clientKey} {
		out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-C", "realproxy", "-f", k).CombinedOutput()
		if err != nil {
			t.Fatalf("realproxy: ssh-keygen: %v\n%s", err, out)
		}
	}
	pub, err := os.ReadFile(clientKey + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	authKeys := filepath.Join(s.Dir, "authorized_keys")
	writeFile(t, authKeys, string(pub), 0o600)

	startWithRetry(t, s, func() error {
		sshdPort := FreePort(t)
		socksPort := FreePort(t)
		for socksPort == sshdPort {
			socksPort = FreePort(t)
		}
		sshdAddr := "127.0.0.1:" + strconv.Itoa(sshdPort)
		s.Addr = "127.0.0.1:" + strconv.Itoa(socksPort)
		conf := filepath.Join(s.Dir, "sshd_config")
		writeFile(t, conf, fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %s
PidFile %s
AuthorizedKeysFile %s
StrictModes no
UsePAM no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowTcpForwarding yes
PermitTTY no
X11Forwarding no
AllowAgentForwarding no
PrintMotd no
MaxStartups 100:30:200
MaxSessions 100
ClientAliveInterval 0
LogLevel VERBOSE
`, sshdPort, hostKey, filepath.Join(s.Dir, "sshd.pid"), authKeys), 0o600)
		// -d: no fork, no daemon, one connection (the ssh client's), and the
		// session stays in this process group; sshd exits with it. A probe
		// connection would use that one connection up, so wait for the
		// listening socket instead.
		pd, err := s.start(t, "sshd", nil, sshd, "-d", "-e", "-f", conf)
		if err != nil {
			return err
		}
		if err := waitListen(pd, sshdAddr); err != nil {
			return err
		}
		pc, err := s.start(t, "ssh", nil, ssh, "-N",
			"-D", s.Addr,
			"-p", strconv.Itoa(sshdPort),
			"-F", "/dev/null",
			"-i", clientKey,
			"-o", "IdentitiesOnly=yes",
			"-o", "StrictHostKeyChecking=no",
			"-o", "UserKnownHostsFile=/dev/null",
			"-o", "BatchMode=yes",
			"-o", "ExitOnForwardFailure=yes",
			"-o", "ConnectTimeout=30",
			"-o", "LogLevel=ERROR",
			"-l", u.Username,
			"127.0.0.1")
		if err != nil {
			return err
		}
		return waitAccept(pc, s.Addr)
	})
	return s
}

// Tinyproxy starts tinyproxy (HTTP forward proxy and CONNECT) on a free
// loopback port. With a non-empty user it requires Basic authentication.
// No ConnectPort line: CONNECT to any port is allowed.
func Tinyproxy(t testing.TB, user, pass string) *Server {
	t.Helper()
	bin := requireBinary(t, "tinyproxy", "tinyproxy")
	for _, v := range []string{user, pass} {
		if strings.Trim(strings.ToLower(v), "abcdefghijklmnopqrstuvwxyz0123456789-._") != "" {
			t.Fatalf("realproxy: tinyproxy's config accepts BasicAuth user and password of [-A-Za-z0-9._] only; %q has other characters", v)
		}
	}
	s := newServer(t, "tinyproxy")
	s.User, s.Pass = user, pass
	openDir(t, s.Dir)
	startWithRetry(t, s, func() error {
		port := s.listenPort(t, s.Addr)
		s.Addr = "127.0.0.1:" + strconv.Itoa(port)
		conf := filepath.Join(s.Dir, "tinyproxy.conf")
		var b strings.Builder
		if os.Geteuid() == 0 {
			b.WriteString("User nobody\nGroup nogroup\n")
		}
		fmt.Fprintf(&b, "Port %d\nListen 127.0.0.1\nTimeout 600\nLogLevel Info\nMaxClients 200\n", port)
		fmt.Fprintf(&b, "PidFile %q\nDisableViaHeader Yes\nAllow 127.0.0.1\n", filepath.Join(s.Dir, "tinyproxy.pid"))
		if user != "" {
			fmt.Fprintf(&b, "BasicAuth %s %s\n", user, pass)
		}
		writeFile(t, conf, b.String(), 0o644)
		p, err := s.start(t, "tinyproxy", nil, bin, "-d", "-c", conf)
		if err != nil {
			return err
		}
		return waitAccept(p, s.Addr)
	})
	return s
}

// Squid starts squid with a plain http_port (Addr) and, when certPEM and
// keyPEM are given, a TLS https_port (TLSAddr) using them. With a non-empty
// user, both require Basic authentication (basic_ncsa_auth with an htpasswd
// file). squid must run as root here; it drops to user proxy, so its
// directory and files are chowned to proxy.
func Squid(t testing.TB, user, pass string, certPEM, keyPEM []byte) *Server {
	t.Helper()
	bin := requireBinary(t, "squid", "squid")
	var ncsa, htpasswd string
	if user != "" {
		ncsa = requireBinary(t, "basic_ncsa_auth", "squid")
		htpasswd = requireBinary(t, "htpasswd", "apache2-utils")
	}
	requireRoot(t, "squid")
	s := newServer(t, "squid")
	s.User, s.Pass = user, pass
	openDir(t, s.Dir)

	passwd := filepath.Join(s.Dir, "passwd")
	if user != "" {
		out, err := exec.Command(htpasswd, "-b", "-c", passwd, user, pass).CombinedOutput()
		if err != nil {
			t.Fatalf("realproxy: htpasswd: %v\n%s", err, out)
		}
	}
	cert, key := filepath.Join(s.Dir, "cert.pem"), filepath.Join(s.Dir, "key.pem")
	if certPEM != nil {
		writeFile(t, cert, string(certPEM), 0o644)
		writeFile(t, key, string(keyPEM), 0o600)
	}
	startWithRetry(t, s, func() error {
		port := s.listenPort(t, s.Addr)
		s.Addr = "127.0.0.1:" + strconv.Itoa(port)
		tlsPort := 0
		if certPEM != nil {
			for tlsPort = s.listenPort(t, s.TLSAddr); tlsPort == port; tlsPort = FreePort(t) {
			}
			s.TLSAddr = "127.0.0.1:" + strconv.Itoa(tlsPort)
		}
		var b strings.Builder
		fmt.Fprintf(&b, "http_port 127.0.0.1:%d\n", port)
		if certPEM != nil {
			fmt.Fprintf(&b, "https_port 127.0.0.1:%d tls-cert=%s tls-key=%s\n", tlsPort, cert, key)
		}
		if user != "" {
			fmt.Fprintf(&b, "auth_param basic program %s %s\n", ncsa, passwd)
			b.WriteString("auth_param basic children 5 startup=1 idle=1\n")
			b.WriteString("auth_param basic realm realproxy\n")
			b.WriteString("acl authed proxy_auth REQUIRED\nhttp_access allow authed\n")
		} else {
			b.WriteString("acl local src 127.0.0.0/8\nhttp_access allow local\n")
		}
		d := s.Dir
		fmt.Fprintf(&b, `http_access deny all
cache deny all
shutdown_lifetime 0 seconds
pid_filename %s/squid.pid
cache_log %s/cache.log
access_log stdio:%s/access.log
cache_store_log none
coredump_dir %s
netdb_filename none
pinger_enable off
visible_hostname realproxy.test
logfile_rotate 0
`, d, d, d, d)
		conf := filepath.Join(d, "squid.conf")
		writeFile(t, conf, b.String(), 0o644)
		chownProxy(t, d)
		p, err := s.start(t, "squid", nil, bin, "-N", "-d", "1", "-f", conf)
		if err != nil {
			return err
		}
		if err := waitAccept(p, s.Addr); err != nil {
			return err
		}
		if s.TLSAddr != "" {
			return waitAccept(p, s.TLSAddr)
		}
		return nil
	})
	return s
}

// openDir lets a server that drops privileges traverse to and into dir
// (t.TempDir's directories are 0700).
func openDir(t testing.TB, dir string) {
	t.Helper()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatalf("realproxy: %v", err)
	}
	// The per-test parent that t.TempDir made.
	if parent := filepath.Dir(dir); strings.HasPrefix(parent, os.TempDir()) && parent != os.TempDir() {
		_ = os.Chmod(parent, 0o711)
	}
}

// chownProxy gives dir and every file in it to user proxy, as squid wants.
func chownProxy(t testing.TB, dir string) {
	t.Helper()
	u, err := user.Lookup("proxy")
	if err != nil {
		t.Fatalf("realproxy: squid needs user proxy: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	err = filepath.Walk(dir, func(path string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, uid, gid)
	})
	if err != nil {
		t.Fatalf("realproxy: chown proxy: %v", err)
	}
}

func writeFile(t testing.TB, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatalf("realproxy: %v", err)
	}
}
