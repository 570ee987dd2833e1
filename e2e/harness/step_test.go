package harness

import (
	"runtime"
	"testing"
)

// fakeStory runs no step: its Run reports the outcome it was told, and FailNow ends the calling
// goroutine as testing.T's does.
type fakeStory struct {
	pass    bool
	ran     []string
	stopped bool
}

func (s *fakeStory) Helper() {}
func (s *fakeStory) Run(name string, _ func(*testing.T)) bool {
	s.ran = append(s.ran, name)
	return s.pass
}
func (s *fakeStory) FailNow() { s.stopped = true; runtime.Goexit() }

func TestStepGoesOnAfterAStepThatPassed(t *testing.T) {
	s := &fakeStory{pass: true}
	inGoroutine(func() {
		Step(s, "one", nil)
		Step(s, "two", nil)
	})
	if s.stopped || len(s.ran) != 2 {
		t.Errorf("stopped %v after steps %v, want both steps and no stop", s.stopped, s.ran)
	}
}

func TestStepEndsTheStoryAtAFailedStep(t *testing.T) {
	s := &fakeStory{pass: false}
	inGoroutine(func() {
		Step(s, "one", nil)
		Step(s, "two", nil)
	})
	if !s.stopped || len(s.ran) != 1 || s.ran[0] != "one" {
		t.Errorf("stopped %v after steps %v, want the story ended after step one", s.stopped, s.ran)
	}
}
