package observability

import (
	"encoding/json"
	"fmt"
	"strings"
)

// DatasourceVar is the dashboard's data source variable: every panel
// and query variable reads the Prometheus it names.
const DatasourceVar = "${datasource}"

// Dashboard is the part of a Grafana dashboard's JSON model the checks
// read.
type Dashboard struct {
	UID           string `json:"uid"`
	Title         string `json:"title"`
	SchemaVersion int    `json:"schemaVersion"`
	Templating    struct {
		List []Variable `json:"list"`
	} `json:"templating"`
	Panels []Panel `json:"panels"`
}

// Variable is a template variable.
type Variable struct {
	Name       string      `json:"name"`
	Type       string      `json:"type"`
	Datasource *Datasource `json:"datasource"`
	// Query is the data source type of a datasource variable, the
	// query of a query variable: a string, or an object with a query.
	Query json.RawMessage `json:"query"`
}

// Panel is a panel, or a row (which holds its panels when collapsed).
type Panel struct {
	ID         int         `json:"id"`
	Type       string      `json:"type"`
	Title      string      `json:"title"`
	Datasource *Datasource `json:"datasource"`
	Targets    []Target    `json:"targets"`
	GridPos    *GridPos    `json:"gridPos"`
	Panels     []Panel     `json:"panels"`
}

// GridPos places a panel on the 24-column grid.
type GridPos struct {
	X int `json:"x"`
	Y int `json:"y"`
	W int `json:"w"`
	H int `json:"h"`
}

// Target is one query of a panel.
type Target struct {
	RefID      string      `json:"refId"`
	Expr       string      `json:"expr"`
	Datasource *Datasource `json:"datasource"`
}

// Datasource names a data source.
type Datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// ParseDashboard decodes a dashboard's JSON model.
func ParseDashboard(data []byte) (*Dashboard, error) {
	var d Dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("decoding the dashboard: %w", err)
	}
	return &d, nil
}

// isPrometheus reports a reference to the dashboard's data source.
func (ds *Datasource) isPrometheus() bool {
	return ds != nil && ds.Type == "prometheus" && ds.UID == DatasourceVar
}

// Problems lists what is wrong with the dashboard: a uid, a title and a
// schema version (36 or later); a Prometheus data source variable that
// every query variable and panel reads; panels with unique ids, a place
// on the grid and at least one query each, with a refId and an
// expression; rows without queries.
func (d *Dashboard) Problems() []string {
	var problems []string
	if d.UID == "" || d.Title == "" {
		problems = append(problems, "the dashboard has no uid or no title")
	}
	if d.SchemaVersion < 36 {
		problems = append(problems, fmt.Sprintf("schemaVersion %d: want 36 or later", d.SchemaVersion))
	}
	hasDatasource := false
	for _, v := range d.Templating.List {
		switch v.Type {
		case "datasource":
			hasDatasource = hasDatasource || (v.Name == "datasource" && string(v.Query) == `"prometheus"`)
		case "query":
			if !v.Datasource.isPrometheus() {
				problems = append(problems, fmt.Sprintf("variable %s: its datasource is not {type: prometheus, uid: %s}", v.Name, DatasourceVar))
			}
			if _, err := v.expr(); err != nil {
				problems = append(problems, fmt.Sprintf("variable %s: %v", v.Name, err))
			}
		}
	}
	if !hasDatasource {
		problems = append(problems, "no variable datasource of type datasource, query prometheus")
	}
	if len(d.Panels) == 0 {
		problems = append(problems, "no panels")
	}
	ids := map[int]bool{}
	for _, p := range d.allPanels() {
		where := fmt.Sprintf("panel %d (%s)", p.ID, p.Title)
		if p.ID == 0 || ids[p.ID] {
			problems = append(problems, where+": its id is 0 or repeated")
		}
		ids[p.ID] = true
		if p.Title == "" {
			problems = append(problems, where+": no title")
		}
		if g := p.GridPos; g == nil || g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
			problems = append(problems, where+": no place on the 24-column grid")
		}
		problems = append(problems, p.problems(where)...)
	}
	return problems
}

// problems checks a panel's queries.
func (p Panel) problems(where string) []string {
	if p.Type == "row" {
		if len(p.Targets) > 0 {
			return []string{where + ": a row with queries"}
		}
		return nil
	}
	var problems []string
	if !p.Datasource.isPrometheus() {
		problems = append(problems, fmt.Sprintf("%s: its datasource is not {type: prometheus, uid: %s}", where, DatasourceVar))
	}
	if len(p.Targets) == 0 {
		problems = append(problems, where+": no targets")
	}
	refs := map[string]bool{}
	for _, t := range p.Targets {
		if t.RefID == "" || refs[t.RefID] {
			problems = append(problems, where+": a target's refId is empty or repeated")
		}
		refs[t.RefID] = true
		if strings.TrimSpace(t.Expr) == "" {
			problems = append(problems, fmt.Sprintf("%s target %s: no expr", where, t.RefID))
		}
		if t.Datasource != nil && !t.Datasource.isPrometheus() {
			problems = append(problems, fmt.Sprintf("%s target %s: another datasource than the panel's", where, t.RefID))
		}
	}
	return problems
}

// allPanels returns the panels, those of collapsed rows included.
func (d *Dashboard) allPanels() []Panel {
	var out []Panel
	for _, p := range d.Panels {
		out = append(out, p)
		out = append(out, p.Panels...)
	}
	return out
}

// Exprs returns the expressions of the panels' targets and of the
// query variables.
func (d *Dashboard) Exprs() []Expr {
	var out []Expr
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		if e, err := v.expr(); err == nil {
			out = append(out, e)
		}
	}
	for _, p := range d.allPanels() {
		for _, t := range p.Targets {
			out = append(out, Expr{Where: fmt.Sprintf("panel %q target %s", p.Title, t.RefID), Expr: t.Expr})
		}
	}
	return out
}

// expr reads a query variable's query: label_values(selector, label)
// or query_result(expression).
func (v Variable) expr() (Expr, error) {
	var q string
	if err := json.Unmarshal(v.Query, &q); err != nil {
		var obj struct {
			Query string `json:"query"`
		}
		if err := json.Unmarshal(v.Query, &obj); err != nil {
			return Expr{}, fmt.Errorf("its query is neither a string nor an object with a query: %w", err)
		}
		q = obj.Query
	}
	q = strings.TrimSpace(q)
	where := "variable " + v.Name
	if inner, ok := call(q, "query_result"); ok {
		return Expr{Where: where, Expr: inner}, nil
	}
	if inner, ok := call(q, "label_values"); ok {
		i := strings.LastIndexByte(inner, ',')
		if i < 0 {
			return Expr{}, fmt.Errorf("label_values without a metric: %s", q)
		}
		return Expr{Where: where, Expr: inner[:i], Label: strings.TrimSpace(inner[i+1:])}, nil
	}
	return Expr{}, fmt.Errorf("query %q: want label_values(metric, label) or query_result(expression)", q)
}

// call returns the argument text of fn(…) when q is that call.
func call(q, fn string) (string, bool) {
	inner, ok := strings.CutPrefix(q, fn+"(")
	if !ok {
		return "", false
	}
	return strings.CutSuffix(inner, ")")
}
