package boot

import (
	"errors"
	"fmt"
)

// Site is what the inventory's Site says for every host of a table:
// its extra kernel parameters and Ironic's URLs. `serve --boot` fills it
// from each good pass; a hosts file and BareMetalHosts leave it empty,
// and the flags of `boot` say the same instead.
type Site struct {
	KernelParams  KernelParams
	IronicAPIURL  string
	IronicHTTPURL string
}

// WithSite returns a copy of t that carries site, once site is checked
// (kernel parameters as CheckKernelParam says; URLs absolute http or
// https, without user, query or fragment).
func (t *Table) WithSite(site Site) (*Table, error) {
	errs := []error{site.KernelParams.Check()}
	for _, u := range []struct{ field, v string }{{"ironic.apiURL", site.IronicAPIURL}, {"ironic.httpURL", site.IronicHTTPURL}} {
		if u.v == "" {
			continue
		}
		if _, err := ParseBaseURL(u.v); err != nil {
			errs = append(errs, fmt.Errorf("%s %w", u.field, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("site of %s: %w", t.Source, err)
	}
	c := *t
	c.Site = site
	return &c, nil
}
