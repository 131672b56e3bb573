package netnstest_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/metalgit/metalgit/internal/netnstest"
)

// pingCommand returns iputils ping, or busybox's applet where ping itself
// is not installed.
func pingCommand(t *testing.T) []string {
	t.Helper()
	if _, err := exec.LookPath("ping"); err == nil {
		return []string{"ping"}
	}
	netnstest.RequireCommands(t, "busybox")
	return []string{"busybox", "ping"}
}

func TestPairPing(t *testing.T) {
	t.Parallel()
	p := netnstest.NewPair(t)
	ping := pingCommand(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	args := append(append([]string{}, ping[1:]...), "-c1", "-W2", p.Server.Addr.Addr().String())
	out, err := p.Client.NS.Command(ctx, ping[0], args...).CombinedOutput()
	if err != nil {
		t.Fatalf("ping %s from %s: %v\n%s", p.Server.Addr.Addr(), p.Client.NS.Name, err, out)
	}
	if !strings.Contains(string(out), "1 packets received") && !strings.Contains(string(out), "1 received") {
		t.Errorf("ping output shows no reply:\n%s", out)
	}
}

func TestPairDefaults(t *testing.T) {
	t.Parallel()
	p := netnstest.NewPair(t)
	if got, want := p.Server.Addr, netip.MustParsePrefix("10.77.0.1/24"); got != want {
		t.Errorf("server address = %v, want %v", got, want)
	}
	if got, want := p.Client.Addr, netip.MustParsePrefix("10.77.0.2/24"); got != want {
		t.Errorf("client address = %v, want %v", got, want)
	}
	for _, name := range []string{p.Server.Interface, p.Client.Interface} {
		if len(name) > 15 {
			t.Errorf("interface name %q longer than 15 bytes", name)
		}
	}
	if p.Server.NS.Name == p.Client.NS.Name {
		t.Errorf("server and client share namespace %q", p.Server.NS.Name)
	}
	if len(p.Server.MAC) != 6 || len(p.Client.MAC) != 6 {
		t.Errorf("MACs = %v, %v; want 6-byte addresses", p.Server.MAC, p.Client.MAC)
	}
	q := netnstest.NewPair(t)
	if q.Server.NS.Name == p.Server.NS.Name || q.Client.Interface == p.Client.Interface {
		t.Errorf("two pairs share names: %+v and %+v", p, q)
	}
}

func TestPairClientOptions(t *testing.T) {
	t.Parallel()
	mac := net.HardwareAddr{0x02, 0x00, 0x5e, 0x10, 0x20, 0x30}
	p := netnstest.NewPair(t, netnstest.WithoutClientAddr(), netnstest.WithClientMAC(mac))
	if p.Client.MAC.String() != mac.String() {
		t.Errorf("client MAC = %v, want %v", p.Client.MAC, mac)
	}
	if p.Client.Addr.IsValid() {
		t.Errorf("client address = %v, want none", p.Client.Addr)
	}
	err := p.Client.NS.Do(func() error {
		ifi, err := net.InterfaceByName(p.Client.Interface)
		if err != nil {
			return err
		}
		addrs, err := ifi.Addrs()
		if err != nil {
			return err
		}
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil {
				return fmt.Errorf("client has IPv4 address %v", a)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestDoSocketStaysInNamespace listens inside the server namespace, then
// serves and dials from outside Do: the sockets must keep working there.
func TestDoSocketStaysInNamespace(t *testing.T) {
	t.Parallel()
	p := netnstest.NewPair(t)
	var ln net.Listener
	err := p.Server.NS.Do(func() error {
		var err error
		// This address exists only inside the server namespace.
		ln, err = net.Listen("tcp", net.JoinHostPort(p.Server.Addr.Addr().String(), "0"))
		return err
	})
	if err != nil {
		t.Fatalf("listen in %s: %v", p.Server.NS.Name, err)
	}
	defer func() { _ = ln.Close() }()
	go echoOnce(ln)

	var conn net.Conn
	err = p.Client.NS.Do(func() error {
		var err error
		conn, err = net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
		return err
	})
	if err != nil {
		t.Fatalf("dial from %s: %v", p.Client.NS.Name, err)
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintln(conn, "hello"); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || line != "hello\n" {
		t.Fatalf("echo = %q, %v; want %q", line, err, "hello\n")
	}
	if _, err := net.InterfaceByName(p.Server.Interface); err == nil {
		t.Errorf("interface %s visible outside its namespace", p.Server.Interface)
	}
}

// echoOnce accepts one connection and echoes one line.
func echoOnce(ln net.Listener) {
	c, err := ln.Accept()
	if err != nil {
		return
	}
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err == nil {
		_, _ = c.Write([]byte(line))
	}
}

// TestDoSwitchesBack checks that no thread is left in a test namespace
// after many concurrent Do calls.
func TestDoSwitchesBack(t *testing.T) {
	t.Parallel()
	p := netnstest.NewPair(t)
	hostNS := threadNS(t)
	var wg sync.WaitGroup
	for i := 0; i < 32; i++ {
		wg.Go(func() {
			ns := p.Server.NS
			if i%2 == 1 {
				ns = p.Client.NS
			}
			if err := ns.Do(func() error { return nil }); err != nil {
				t.Errorf("Do: %v", err)
			}
		})
	}
	wg.Wait()
	for i := 0; i < 64; i++ {
		wg.Go(func() {
			if got := threadNS(t); got != hostNS {
				t.Errorf("thread in namespace %s, want %s", got, hostNS)
			}
		})
	}
	wg.Wait()
}

// threadNS returns the network namespace of the calling goroutine's thread.
func threadNS(t *testing.T) string {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	ns, err := os.Readlink("/proc/thread-self/ns/net")
	if err != nil {
		t.Errorf("read thread namespace: %v", err)
	}
	return ns
}

func TestDoEntersNamespace(t *testing.T) {
	t.Parallel()
	p := netnstest.NewPair(t)
	want, err := os.Stat("/run/netns/" + p.Server.NS.Name)
	if err != nil {
		t.Fatal(err)
	}
	err = p.Server.NS.Do(func() error {
		got, err := os.Stat("/proc/thread-self/ns/net")
		if err != nil {
			return err
		}
		if !os.SameFile(got, want) {
			return fmt.Errorf("thread is not in namespace %s", p.Server.NS.Name)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestCleanupRemovesNamespaces(t *testing.T) {
	netnstest.Require(t)
	var names []string
	t.Run("pair", func(t *testing.T) {
		p := netnstest.NewPair(t)
		names = []string{p.Server.NS.Name, p.Client.NS.Name}
		if list := netnsList(t); !strings.Contains(list, names[0]) || !strings.Contains(list, names[1]) {
			t.Fatalf("ip netns list does not show %v:\n%s", names, list)
		}
	})
	list := netnsList(t)
	for _, n := range names {
		if strings.Contains(list, n) {
			t.Errorf("namespace %s left behind:\n%s", n, list)
		}
	}
}

func netnsList(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "list").CombinedOutput()
	if err != nil {
		t.Fatalf("ip netns list: %v: %s", err, out)
	}
	return string(out)
}

func TestWaitLinkLocal(t *testing.T) {
	t.Parallel()
	p := netnstest.NewPair(t)
	for _, e := range []*netnstest.Endpoint{&p.Server, &p.Client} {
		ll := e.WaitLinkLocal(t, 5*time.Second)
		if !ll.IsLinkLocalUnicast() || ll.Zone() != e.Interface {
			t.Errorf("link-local of %s = %v", e.Interface, ll)
		}
	}
}

// fakeTB records Skip and Fatalf; like the real ones, they end the
// goroutine, so run calls fn on a goroutine of its own.
type fakeTB struct {
	testing.TB
	skipped, failed string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Skip(args ...any) {
	f.skipped = fmt.Sprint(args...)
	runtime.Goexit()
}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (f *fakeTB) run(fn func(testing.TB)) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
}

func TestRequireFailsUnderCI(t *testing.T) {
	const tool = "metalgit-no-such-tool"
	t.Setenv("CI", "true")
	f := &fakeTB{TB: t}
	f.run(func(tb testing.TB) { netnstest.RequireCommands(tb, tool) })
	if !strings.Contains(f.failed, tool) || f.skipped != "" {
		t.Errorf("under CI: failed %q, skipped %q; want a failure naming %s", f.failed, f.skipped, tool)
	}

	_ = os.Unsetenv("CI") // t.Setenv restores it
	f = &fakeTB{TB: t}
	f.run(func(tb testing.TB) { netnstest.RequireCommands(tb, tool) })
	if !strings.Contains(f.skipped, tool) || f.failed != "" {
		t.Errorf("without CI: failed %q, skipped %q; want a skip naming %s", f.failed, f.skipped, tool)
	}
}
