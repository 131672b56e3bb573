package trace

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path"

	"github.com/metalgit/metalgit/boot"
)

// Report is what the trace says of one MAC: the answer of Handler.
type Report struct {
	// MAC in colon form, lower case.
	MAC string `json:"mac"`
	// Known: the MAC is in the host table now; Host, Phase and Address
	// are its entry's.
	Known   bool   `json:"known"`
	Host    string `json:"host,omitempty"`
	Phase   string `json:"phase,omitempty"`
	Address string `json:"address,omitempty"`
	// Events are the MAC's events, oldest first (at most
	// Config.MaxEvents).
	Events  []Event `json:"events"`
	Verdict Verdict `json:"verdict"`
}

// ReportOf builds the report of a MAC from the ring and the host table.
func ReportOf(r *Ring, hosts *boot.Store, mac net.HardwareAddr) Report {
	rep := Report{MAC: mac.String(), Events: r.Events(mac)}
	if rep.Events == nil {
		rep.Events = []Event{}
	}
	if h, ok := hosts.Load().Lookup(mac); ok {
		rep.Known, rep.Host, rep.Phase, rep.Address = true, h.Name, string(h.Phase), h.Address.String()
	}
	rep.Verdict = Diagnose(rep.Events, rep.Known)
	return rep
}

// ErrorBody is the JSON body of an error answer.
type ErrorBody struct {
	Error string `json:"error"`
}

// Handler answers GET /debug/boot/{mac} with the MAC's Report as JSON;
// mount it on that pattern. A MAC that does not parse is a 400 with an
// ErrorBody. The answer is bounded by the ring's bounds.
func Handler(r *Ring, hosts *boot.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		s := req.PathValue("mac")
		if s == "" {
			s = path.Base(req.URL.Path)
		}
		mac, err := ParseMAC(s)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, ErrorBody{Error: err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, ReportOf(r, hosts, mac))
	})
}

// ParseMAC parses an Ethernet MAC address in colon, dash or dot form.
func ParseMAC(s string) (net.HardwareAddr, error) {
	mac, err := net.ParseMAC(s)
	if err != nil || len(mac) != 6 {
		return nil, fmt.Errorf("%q is not a MAC address: want 6 bytes, such as 02:00:00:00:00:01 or 02-00-00-00-00-01", cut(s, 64))
	}
	return mac, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client went away: nothing to do
}
