package envfile

import "testing"

func TestHold(t *testing.T) {
	data := []byte(`{"api": {"tag": "a", "hold": "INC-1: rollback"}, "web": {"tag": "b", "hold": ""}, "db": {"tag": "c", "hold": 3}, "tag": "x"}`)
	for key, want := range map[string]string{"api.tag": "INC-1: rollback", "web.tag": "", "db.tag": "", "tag": "", "missing.tag": ""} {
		p, err := ParsePath(key)
		if err != nil {
			t.Fatal(err)
		}
		got, held := Hold(data, p)
		if got != want || held != (want != "") {
			t.Errorf("Hold(%s) = %q, %v; want %q", key, got, held, want)
		}
	}
}
