package httpboot

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/metalgit/metalgit/boot"
)

// The agent's kernel and initramfs, under HTTPURL/images/ (and Ironic's
// image server's /images/). EFI iPXE hands the kernel the initramfs by
// its image name, which iPXE takes from the URL's last segment: the
// kernel line's initrd= must be that name.
const (
	KernelName    = "ironic-python-agent.kernel"
	InitramfsName = "ironic-python-agent.initramfs"
)

// MaxKernelCommandLine is the longest kernel command line a script
// carries: x86 Linux's COMMAND_LINE_SIZE is 2048 bytes with the final
// NUL. A longer one would be cut by the kernel, silently; the script
// says so and stops instead.
const MaxKernelCommandLine = 2047

// Kinds of scripts, the "script" attribute of traces and logs.
const (
	ScriptInspector = "inspector"
	ScriptInstaller = "installer"
	ScriptUnknown   = "unknown"
	ScriptNone      = "none"
	// ScriptBroken: the host's kernel command line is too long; the
	// script says so and exits.
	ScriptBroken = "broken"
)

// script is one generated iPXE script.
type script struct {
	kind string
	host boot.Host
	// known is false for a MAC outside the table.
	known bool
	text  string
}

// scriptFor writes the script of a MAC from the current host table.
func (s *Server) scriptFor(mac net.HardwareAddr) script {
	tab := s.cfg.Hosts.Load()
	h, ok := tab.Lookup(mac)
	if !ok {
		return script{kind: ScriptUnknown, text: unknownScript(mac)}
	}
	sc := script{host: h, known: true}
	switch h.Phase {
	case boot.PhaseInspect:
		sc.kind = ScriptInspector
	case boot.PhaseDeploy:
		sc.kind = ScriptInstaller
	default:
		sc.kind = ScriptNone
		sc.text = noneScript(h)
		return sc
	}
	params := s.kernelParams(h, siteOf(tab))
	cmdline := strings.Join(params, " ")
	if len(cmdline) > MaxKernelCommandLine {
		sc.kind = ScriptBroken
		sc.text = brokenScript(h, len(cmdline))
		return sc
	}
	sc.text = s.bootScript(h, sc.kind, cmdline)
	return sc
}

// siteOf is a table's Site settings (none for no table).
func siteOf(t *boot.Table) boot.Site {
	if t == nil {
		return boot.Site{}
	}
	return t.Site
}

// kernelParams returns a host's kernel command line, in order: the
// proxy's own parameters, the Site's (Config.SiteParams, then the host
// table's Site), the host's, the flags', and initrd= last.
func (s *Server) kernelParams(h boot.Host, site boot.Site) []string {
	params := []string{"BOOTIF=${mac}", "ipa-api-url=" + s.cfg.CallbackURL}
	var flags []string
	if h.Phase == boot.PhaseInspect {
		callback := s.cfg.CallbackURL + "/v1/continue_inspection"
		if s.cfg.IronicInspector {
			callback = s.cfg.CallbackURL + "/v1/continue"
		}
		params = append(params, "ipa-inspection-callback-url="+callback,
			"ipa-inspection-collectors="+s.cfg.InspectorCollectors)
		flags = s.cfg.InspectorParams
	} else {
		flags = s.cfg.InstallerParams
	}
	params = append(params, s.cfg.SiteParams.For(h.Phase)...)
	params = append(params, site.KernelParams.For(h.Phase)...)
	params = append(params, h.KernelParams.For(h.Phase)...)
	params = append(params, flags...)
	return append(params, "initrd="+InitramfsName)
}

// bootScript writes the script that loads the agent: kernel, initrd and
// boot, tried 1+ScriptRetries times with a pause of 1, 2, 4, … s between
// attempts, then a message and exit 1. The attempts are written out one
// after the other (no counter): every step and every pause is literal.
func (s *Server) bootScript(h boot.Host, kind, cmdline string) string {
	kernel := s.cfg.HTTPURL + "/images/" + KernelName
	initrd := s.cfg.HTTPURL + "/images/" + InitramfsName
	who := describe(h)
	attempts := 1 + s.cfg.ScriptRetries
	var b strings.Builder
	fmt.Fprintf(&b, "#!ipxe\n# metalgit: the %s for %s\necho metalgit: booting the %s for %s\n", kind, who, kind, who)
	for i := 1; i <= attempts; i++ {
		fmt.Fprintf(&b, "\n:try%d\nimgfree\n", i)
		fmt.Fprintf(&b, "set metalgit-step kernel %s\nkernel %s %s || goto failed%d\n", kernel, kernel, cmdline, i)
		fmt.Fprintf(&b, "set metalgit-step initrd %s\ninitrd %s || goto failed%d\n", initrd, initrd, i)
		fmt.Fprintf(&b, "set metalgit-step boot\nboot || goto failed%d\n", i)
		fmt.Fprintf(&b, ":failed%d\n", i)
		if i < attempts {
			pause := 1 << (i - 1)
			fmt.Fprintf(&b, "echo metalgit: ${metalgit-step} failed, attempt %d of %d, trying again in %d s\nsleep %d\n",
				i, attempts, pause, pause)
			continue
		}
		fmt.Fprintf(&b, "echo metalgit: ${metalgit-step} failed, attempt %d of %d, giving up\n", i, attempts)
		fmt.Fprintf(&b, "echo metalgit: the boot proxy cannot boot %s: run metalgit boot trace %s\nexit 1\n", who, h.MAC)
	}
	return b.String()
}

// unknownScript answers a MAC outside the host table.
func unknownScript(mac net.HardwareAddr) string {
	return fmt.Sprintf("#!ipxe\n# metalgit: %s is not a known host\n"+
		"echo metalgit: %s is not a known host of this boot proxy: nothing to boot\n"+
		"echo metalgit: add its bootMACAddress to the inventory, or the MAC to the hosts file\nexit 1\n", mac, mac)
}

// noneScript answers a host of phase none: boot from disk.
func noneScript(h boot.Host) string {
	who := describe(h)
	return fmt.Sprintf("#!ipxe\n# metalgit: nothing to boot for %s (phase none)\n"+
		"echo metalgit: %s has phase none: nothing to boot over the network\n"+
		"echo metalgit: exiting so that the firmware boots the next device\nexit 0\n", who, who)
}

// brokenScript answers a host whose kernel command line is too long.
func brokenScript(h boot.Host, n int) string {
	who := describe(h)
	return fmt.Sprintf("#!ipxe\n# metalgit: the kernel command line of %s is too long\n"+
		"echo metalgit: the kernel command line of %s has %d bytes, more than %d: the kernel would cut it\n"+
		"echo metalgit: remove extra kernel parameters of the Site, the host or the flags\nexit 1\n",
		who, who, n, MaxKernelCommandLine)
}

// describe names a host in a script: its name when the name holds only
// characters that are plain in iPXE (a name may be any printable text,
// and iPXE expands ${…}), and its MAC.
func describe(h boot.Host) string {
	if h.Name == "" || h.Name == h.MAC.String() || !plainName(h.Name) {
		return h.MAC.String()
	}
	return h.Name + " " + h.MAC.String()
}

func plainName(s string) bool {
	if len(s) > boot.MaxNameLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_./", c) >= 0) {
			return false
		}
	}
	return true
}

// serveScript answers GET /boot/<mac>.ipxe: the host's script, or one
// that says why there is nothing to boot. Every MAC gets 200 and a
// script, so iPXE prints the message rather than a bare HTTP error.
func (s *Server) serveScript(x *exchange, r *http.Request) {
	name, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, "/boot/"), ".ipxe")
	mac, valid := parseMACPath(name)
	if !ok || !valid {
		s.refuse(x, http.StatusNotFound, reasonBadPath,
			"not found: scripts are /boot/<mac>.ipxe, the MAC in dash or colon form (/boot/02-00-00-00-00-01.ipxe)")
		return
	}
	sc := s.scriptFor(mac)
	x.mac, x.known, x.script = mac, sc.known, sc.kind
	h := x.w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(sc.text)))
	// The script follows the host's phase: never cached.
	h.Set("Cache-Control", "no-store")
	_, _ = io.WriteString(x.w, sc.text)
}

// parseMACPath parses the MAC of a script path: six hex pairs joined by
// dashes (boot.MACPath, iPXE's ${mac:hexhyp}) or by colons (${mac}), in
// either case.
func parseMACPath(s string) (net.HardwareAddr, bool) {
	if len(s) != 17 {
		return nil, false
	}
	sep := s[2]
	if sep != '-' && sep != ':' {
		return nil, false
	}
	mac := make(net.HardwareAddr, 6)
	for i := range 6 {
		if i > 0 && s[3*i-1] != sep {
			return nil, false
		}
		b, err := strconv.ParseUint(s[3*i:3*i+2], 16, 8)
		if err != nil {
			return nil, false
		}
		mac[i] = byte(b)
	}
	return mac, true
}
