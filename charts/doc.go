// Package charts holds metalgit's Helm charts — metalgit (the controller,
// `metalgit serve`) and metalgit-boot-proxy (`metalgit boot`, the chart
// the rendered HelmReleases name) — and the tests that render them with
// the Helm SDK from the values `metalgit render` generates and send what
// they produce to a real API server. It has no Go code of its own.
package charts
