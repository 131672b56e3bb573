package observability

import (
	"fmt"
	"slices"
	"strings"
)

// Selector is a metric an expression selects, with the label names its
// matchers use.
type Selector struct {
	Metric string
	Labels []string
}

// Refs are the names a PromQL expression refers to.
type Refs struct {
	Selectors []Selector
	// Grouping are the label names of its by, without, on, ignoring,
	// group_left and group_right clauses.
	Grouping []string
}

// Metrics returns the metric names of r's selectors, sorted, without
// repeats.
func (r Refs) Metrics() []string {
	var out []string
	for _, s := range r.Selectors {
		out = append(out, s.Metric)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// PromQL words that are neither metrics nor functions, in lower case
// (PromQL matches them in any case).
const (
	binaryWords   = " and or unless bool offset atan2 inf nan "
	groupingWords = " by without on ignoring group_left group_right "
	aggregations  = " sum avg count min max group stddev stdvar topk bottomk count_values quantile limitk limit_ratio "
)

func isWord(list, w string) bool { return strings.Contains(list, " "+strings.ToLower(w)+" ") }

// ParseRefs reads the metric names and label names of a PromQL
// expression, as a careful scanner rather than a parser: it skips
// strings, numbers and durations, range and subquery brackets, Grafana
// variables ($var, ${var}, $__rate_interval), keywords and the names of
// functions and aggregations (an identifier followed by "(" is a
// function), and reads label matchers and grouping clauses. Every other
// identifier is a metric name. It does not check the expression's
// grammar; it fails on what it cannot read: an unterminated string,
// bracket or matcher list, a character PromQL does not have, a selector
// whose metric it cannot tell (no name, or a __name__ regex).
func ParseRefs(expr string) (Refs, error) {
	s := &scanner{src: expr}
	var refs Refs
	for {
		s.skipSpace()
		if s.eof() {
			return refs, nil
		}
		c := s.peek()
		switch {
		case c == '"' || c == '\'' || c == '`':
			if _, err := s.str(); err != nil {
				return Refs{}, err
			}
		case c == '[':
			if err := s.skipPast(']'); err != nil {
				return Refs{}, err
			}
		case c == '{':
			sel, err := s.matchers("")
			if err != nil {
				return Refs{}, err
			}
			refs.Selectors = append(refs.Selectors, sel)
		case c == '$':
			if err := s.variable(); err != nil {
				return Refs{}, err
			}
		case isDigit(c) || (c == '.' && isDigit(s.at(1))):
			s.number()
		case isIdentStart(c):
			if err := s.word(&refs); err != nil {
				return Refs{}, err
			}
		case strings.IndexByte("()+-*/%^=!<>,:@", c) >= 0:
			s.pos++
		default:
			return Refs{}, s.errorf("unexpected %q", c)
		}
	}
}

// word reads an identifier and what it introduces.
func (s *scanner) word(refs *Refs) error {
	w := s.ident()
	switch {
	case isWord(groupingWords, w):
		s.skipSpace()
		if s.peek() != '(' {
			if strings.HasPrefix(strings.ToLower(w), "group_") {
				return nil // group_left without labels
			}
			return s.errorf("%s without a label list", w)
		}
		labels, err := s.labelList()
		if err != nil {
			return err
		}
		refs.Grouping = append(refs.Grouping, labels...)
		return nil
	case isWord(binaryWords, w), isWord(aggregations, w):
		return nil
	}
	s.skipSpace()
	switch s.peek() {
	case '(':
		return nil // a function
	case '{':
		sel, err := s.matchers(w)
		if err != nil {
			return err
		}
		refs.Selectors = append(refs.Selectors, sel)
		return nil
	}
	refs.Selectors = append(refs.Selectors, Selector{Metric: w})
	return nil
}

// scanner walks an expression byte by byte; PromQL's syntax is ASCII
// outside strings.
type scanner struct {
	src string
	pos int
}

func (s *scanner) eof() bool { return s.pos >= len(s.src) }

func (s *scanner) peek() byte { return s.at(0) }

// at is the byte i past the position, 0 past the end.
func (s *scanner) at(i int) byte {
	if s.pos+i >= len(s.src) {
		return 0
	}
	return s.src[s.pos+i]
}

func (s *scanner) errorf(format string, args ...any) error {
	return fmt.Errorf("promql: offset %d: %s", s.pos, fmt.Sprintf(format, args...))
}

// skipSpace skips white space and # comments.
func (s *scanner) skipSpace() {
	for !s.eof() {
		switch s.peek() {
		case ' ', '\t', '\n', '\r':
			s.pos++
		case '#':
			for !s.eof() && s.peek() != '\n' {
				s.pos++
			}
		default:
			return
		}
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isIdentStart reports a byte that starts a metric or label name.
func isIdentStart(c byte) bool {
	return c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdent(c byte) bool { return isIdentStart(c) || isDigit(c) }

// ident reads a metric or label name.
func (s *scanner) ident() string {
	start := s.pos
	for !s.eof() && isIdent(s.peek()) {
		s.pos++
	}
	return s.src[start:s.pos]
}

// number skips a number or a duration: 3, 0.5, 1e-3, 0x1f, 5m, 1h30m.
func (s *scanner) number() {
	start := s.pos
	for !s.eof() {
		c := s.peek()
		switch {
		case isIdent(c) || c == '.':
			s.pos++
		case (c == '+' || c == '-') && s.pos > start && s.src[s.pos-1]|0x20 == 'e' &&
			!strings.HasPrefix(strings.ToLower(s.src[start:]), "0x"):
			s.pos++ // an exponent's sign
		default:
			return
		}
	}
}

// str reads a quoted string and returns its text (escapes are kept
// as written: only names are compared).
func (s *scanner) str() (string, error) {
	quote := s.peek()
	start := s.pos
	s.pos++
	for !s.eof() {
		c := s.peek()
		switch {
		case c == '\\' && quote != '`':
			s.pos += 2
		case c == quote:
			s.pos++
			return s.src[start+1 : s.pos-1], nil
		default:
			s.pos++
		}
	}
	s.pos = start
	return "", s.errorf("unterminated string")
}

// skipPast skips to the byte after the next end: a range or subquery
// holds durations and Grafana variables only.
func (s *scanner) skipPast(end byte) error {
	i := strings.IndexByte(s.src[s.pos:], end)
	if i < 0 {
		return s.errorf("unterminated %q", s.peek())
	}
	s.pos += i + 1
	return nil
}

// variable skips a Grafana variable: $name, ${name} or ${name:format}.
func (s *scanner) variable() error {
	s.pos++
	if s.peek() == '{' {
		return s.skipPast('}')
	}
	if s.ident() == "" {
		return s.errorf("a $ that starts no variable")
	}
	return nil
}

// labelList reads "(a, b, …)".
func (s *scanner) labelList() ([]string, error) {
	s.pos++ // (
	var labels []string
	for {
		s.skipSpace()
		switch c := s.peek(); {
		case c == ')':
			s.pos++
			return labels, nil
		case c == ',':
			s.pos++
		case c == '"' || c == '\'':
			l, err := s.str()
			if err != nil {
				return nil, err
			}
			labels = append(labels, l)
		case isIdentStart(c):
			labels = append(labels, s.ident())
		case s.eof():
			return nil, s.errorf("unterminated label list")
		default:
			return nil, s.errorf("unexpected %q in a label list", c)
		}
	}
}

// matchers reads "{label op "value", …}" after the metric name (""
// when the selector has none) and returns the selector: its metric is
// metric, or the name a quoted name or a __name__= matcher gives.
func (s *scanner) matchers(metric string) (Selector, error) {
	sel := Selector{Metric: metric}
	s.pos++ // {
	for {
		s.skipSpace()
		if s.eof() {
			return Selector{}, s.errorf("unterminated label matchers")
		}
		switch s.peek() {
		case '}':
			s.pos++
			if sel.Metric == "" {
				return Selector{}, s.errorf("a selector without a metric name")
			}
			return sel, nil
		case ',':
			s.pos++
			continue
		}
		name, quoted, err := s.matcherName()
		if err != nil {
			return Selector{}, err
		}
		s.skipSpace()
		if quoted && (s.peek() == ',' || s.peek() == '}') {
			sel.Metric = name // {"metric.name", …}
			continue
		}
		op := s.matchOp()
		if op == "" {
			return Selector{}, s.errorf("no match operator after label %q", name)
		}
		s.skipSpace()
		if c := s.peek(); c != '"' && c != '\'' && c != '`' {
			return Selector{}, s.errorf("label %q: the value is not a string", name)
		}
		value, err := s.str()
		if err != nil {
			return Selector{}, err
		}
		if name != "__name__" {
			sel.Labels = append(sel.Labels, name)
			continue
		}
		if op != "=" {
			return Selector{}, s.errorf("a __name__ matched by %s names no one metric", op)
		}
		sel.Metric = value
	}
}

// matcherName reads a label name, bare or quoted.
func (s *scanner) matcherName() (name string, quoted bool, err error) {
	switch c := s.peek(); {
	case c == '"' || c == '\'':
		name, err = s.str()
		return name, true, err
	case isIdentStart(c):
		return s.ident(), false, nil
	default:
		return "", false, s.errorf("unexpected %q in label matchers", c)
	}
}

// matchOp reads =, !=, =~ or !~; "" when none is there.
func (s *scanner) matchOp() string {
	for _, op := range []string{"=~", "!~", "!=", "="} {
		if strings.HasPrefix(s.src[s.pos:], op) {
			s.pos += len(op)
			return op
		}
	}
	return ""
}
