package trace_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/metalgit/metalgit/boot"
	"github.com/metalgit/metalgit/boot/trace"
)

func TestHandler(t *testing.T) {
	tab, err := boot.NewTable("test", []boot.Host{{MAC: mac(1), Name: "server-01", Address: netip.MustParsePrefix("192.168.100.3/24"),
		Phase: boot.PhaseInspect}})
	if err != nil {
		t.Fatal(err)
	}
	hosts := &boot.Store{}
	hosts.Swap(tab)
	r := newRing(trace.Config{MaxEvents: 4})
	for range 10 {
		r.Record(mac(1), offerOf(trace.KindDHCPOffer, trace.OfferTFTP, "undionly.kpxe"))
	}
	r.RecordUnknown(mac(9), dhcpEv(trace.KindDHCPUnknown, nil))
	mux := http.NewServeMux()
	mux.Handle("GET /debug/boot/{mac}", trace.Handler(r, hosts))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	get := func(path string, status int, into any) {
		t.Helper()
		resp, err := http.Get(srv.URL + path) //nolint:noctx // a test server
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		if resp.StatusCode != status || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("GET %s: %s %s, want %d JSON", path, resp.Status, resp.Header.Get("Content-Type"), status)
		}
		if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
	}
	var rep trace.Report
	get("/debug/boot/02-00-00-00-00-01", http.StatusOK, &rep)
	if rep.MAC != "02:00:00:00:00:01" || !rep.Known || rep.Host != "server-01" || rep.Phase != "inspect" ||
		rep.Address != "192.168.100.3/24" || len(rep.Events) != 4 || rep.Verdict.Stage != trace.StageDHCP {
		t.Errorf("report %+v", rep)
	}
	rep = trace.Report{}
	get("/debug/boot/02:00:00:00:00:09", http.StatusOK, &rep)
	if rep.Known || len(rep.Events) != 1 || !strings.Contains(rep.Verdict.Message, "not in the host table") {
		t.Errorf("unknown MAC's report %+v", rep)
	}
	rep = trace.Report{}
	get("/debug/boot/02:00:00:00:00:42", http.StatusOK, &rep)
	if rep.Events == nil || len(rep.Events) != 0 {
		t.Errorf("a MAC without events: %+v", rep)
	}
	for _, bad := range []string{"nope", "02:00:00:00:00:01:02:03", "02:00:00:00:00"} {
		var e trace.ErrorBody
		get("/debug/boot/"+bad, http.StatusBadRequest, &e)
		if diff := cmp.Diff(`"`+bad+`" is not a MAC address: want 6 bytes, such as 02:00:00:00:00:01 or 02-00-00-00-00-01`, e.Error); diff != "" {
			t.Error(diff)
		}
	}
}
