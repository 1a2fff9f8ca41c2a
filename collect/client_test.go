package collect

import (
	"net/http"
	"strconv"
	"testing"
	"time"
)

func TestBackoffHonoursServer(t *testing.T) {
	// A clock years off the real one: RateLimit-Reset is judged on it.
	clock := func() time.Time { return time.Date(2031, 5, 1, 12, 0, 0, 0, time.UTC) }
	b := backoff(time.Minute, clock)
	min, max := 10*time.Millisecond, time.Second
	resp := func(code int, h map[string]string) *http.Response {
		r := &http.Response{StatusCode: code, Header: http.Header{}}
		for k, v := range h {
			r.Header.Set(k, v)
		}
		return r
	}
	if got := b(min, max, 1, resp(429, map[string]string{"Retry-After": "7"})); got != 7*time.Second {
		t.Errorf("429 with Retry-After 7: wait %v, want 7s", got)
	}
	reset := strconv.FormatInt(clock().Add(20*time.Second).Unix(), 10)
	if got := b(min, max, 1, resp(429, map[string]string{"RateLimit-Reset": reset})); got < 18*time.Second || got > 21*time.Second {
		t.Errorf("429 with RateLimit-Reset in 20 s: wait %v", got)
	}
	if got := b(min, max, 1, resp(429, map[string]string{"Retry-After": "3600"})); got != time.Minute {
		t.Errorf("Retry-After above the cap: wait %v, want the 1 min cap", got)
	}
	for attempt := range 10 {
		got := b(min, max, attempt, resp(502, nil))
		if got <= 0 || got > max {
			t.Errorf("502 attempt %d: wait %v, want within (0, %v]", attempt, got, max)
		}
	}
	if a, c := b(min, max, 0, resp(500, nil)), b(min, max, 4, resp(500, nil)); c <= a {
		t.Errorf("backoff does not grow: attempt 0 %v, attempt 4 %v", a, c)
	}
}
