package linediff

import (
	"strings"
	"testing"
)

func TestUnifiedShowsChangesWithContextInHunks(t *testing.T) {
	a := "a\nb\nc\nd\ne\nf\ng\nh\n"
	b := "a\nb\nC\nd\ne\nf\ng\nh\ni\n"
	lines, err := Unified(a, b, 1)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range lines {
		got = append(got, l.Op+l.Text)
	}
	joined := strings.Join(got, "|")
	for _, must := range []string{"-c", "+C", "+i", "@@@ -2,"} {
		if !strings.Contains(joined, must) {
			t.Errorf("diff %q lacks %q", joined, must)
		}
	}
	if strings.Contains(joined, " e") {
		t.Errorf("diff %q shows a line far from every change", joined)
	}
	if same, _ := Unified(a, a, 3); len(same) != 0 {
		t.Errorf("equal texts differ: %v", same)
	}
	if _, err := Unified(strings.Repeat("x\n", MaxLines+1), "", 1); err == nil {
		t.Error("a text over MaxLines must be refused")
	}
}
