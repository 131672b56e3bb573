package reconciler

import "testing"

// A push event's head is handed to the next pass only when it is the only
// trigger since the last pass, and only for the branch reconciled.
func TestTakeHead(t *testing.T) {
	c := NewController(&Reconciler{cfg: Config{Branch: "main"}}, ControllerConfig{})
	const a, b = "1111111111111111111111111111111111111111", "2222222222222222222222222222222222222222"
	main := func(after string) Push { return Push{Ref: "refs/heads/main", After: after} }
	for _, tc := range []struct {
		name     string
		triggers func()
		want     string
	}{
		{"one push event", func() { c.TriggerPush(main(a)) }, a},
		{"two push events", func() { c.TriggerPush(main(a)); c.TriggerPush(main(b)) }, ""},
		{"a push event, then a plain trigger", func() { c.TriggerPush(main(a)); c.Trigger() }, ""},
		{"a plain trigger, then a push event", func() { c.Trigger(); c.TriggerPush(main(a)) }, ""},
		{"another branch", func() { c.TriggerPush(Push{Ref: "refs/heads/other", After: a}) }, ""},
		{"a tag", func() { c.TriggerPush(Push{Ref: "refs/tags/main", After: a}) }, ""},
		{"no head", func() { c.TriggerPush(main("")) }, ""},
	} {
		tc.triggers()
		if got := c.takeHead(); got != tc.want {
			t.Errorf("%s: head %q, want %q", tc.name, got, tc.want)
		}
	}
	if got := c.takeHead(); got != "" {
		t.Errorf("no trigger: head %q", got)
	}
}
