// Package callback is the boot proxy's callback proxy: the one bridge
// between the provisioning network, where the Ironic Python Agent (IPA)
// runs on a booting server and can reach only the proxy, and the cluster
// network, where Ironic runs.
//
// Agent → Ironic (Config.IronicAPIURL; the inspector route to
// Config.InspectorURL), and nothing else of Ironic:
//
//	GET  /                         Ironic's version document
//	GET  /v1                       the v1 root
//	GET  /v1/lookup                the agent asks for its node and token
//	POST /v1/heartbeat/{node}      callback_url rewritten (below)
//	POST /v1/continue_inspection   inspection data (Ironic 22.1+)
//	POST /v1/continue              inspection data to ironic-inspector
//
// Every other path answers 404. These requests are taken only from an
// address that is the lease of a host in the host table; a lookup must
// name that host's MAC among its addresses. Headers pass through an
// allow-list (PassedHeaders); bodies pass untouched but for the
// heartbeat's callback_url and agent_verify_ca.
//
// The heartbeat's callback_url (http://10.0.0.5:9999 as IPA sends it)
// must name the address the heartbeat came from. Ironic is told
// AgentProxyURL/agents/{node} instead: a function of the node alone, so
// it is the same on every heartbeat of the node and after a restart of
// the proxy (Ironic refuses a heartbeat whose callback_url changed). Only
// when Ironic accepted the heartbeat (it checks the agent token) does the
// proxy remember node → agent address.
//
// Ironic → agent: a request to /agents/{node}/… (commands, status; method,
// query string with agent_token and body kept) goes to the agent the node
// last heartbeated from, and only while that address is still the lease
// of the same host: the proxy dials no other address, so it relays into
// neither network. An agent with IPA's automatic TLS (an https
// callback_url with agent_verify_ca) is dialled over TLS verifying that
// certificate (Config.InsecureSkipVerify skips the check); Ironic is told
// the proxy's URL and not the agent's certificate, since it talks to the
// proxy, not to the agent.
//
// Bounds: request bodies (Config.MaxBodyBytes, MaxInspectionBytes,
// MaxAgentBodyBytes), time (headers, upstream answers, whole requests),
// requests at once (Config.MaxRequests, then 503), remembered agents
// (Config.MaxAgents, the oldest forgotten).
package callback
