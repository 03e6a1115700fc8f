package deploy

import (
	"errors"
	"strings"
	"testing"

	"github.com/cicd-excellence/actions/internal/action"
	"github.com/cicd-excellence/actions/internal/envfile"
)

func digestEnv(tag, digest string) *string {
	return s("{\n  \"api\": {\n    \"tag\": \"" + tag + "\",\n    \"digest\": \"" + digest + "\"\n  }\n}\n")
}

// TestRollbackToWithDigest: rolling a tag back to a named commit takes the
// digest that commit was deployed with, from the records; never the old
// tag beside the current digest (an image that is not the tag's). With no
// record of it, the run asks for the digest and writes nothing.
func TestRollbackToWithDigest(t *testing.T) {
	d1, d2 := "sha256:"+strings.Repeat("d1", 32), "sha256:"+strings.Repeat("d2", 32)
	f := newInfra(t)
	c1 := f.push(map[string]*string{"envs/dev.json": digestEnv(a1, d1)})
	f.run(t, c1)
	c2 := f.push(map[string]*string{"envs/dev.json": digestEnv(a2, d2)})
	f.run(t, c2)

	tests := []struct {
		name  string
		to    string
		input string // the input the error names; "" for success
		msg   string
		want  map[string]string
	}{
		{name: "one SHA: the digest comes from its record", to: a1, want: map[string]string{"api.tag": a1, "api.digest": d1}},
		{name: "a version never deployed here", to: a3, input: "to", msg: "add a line api.digest=sha256:"},
		{name: "the digest given", to: "api.tag=" + a3 + "\napi.digest=" + "sha256:" + strings.Repeat("3", 64),
			want: map[string]string{"api.tag": a3, "api.digest": "sha256:" + strings.Repeat("3", 64)}},
		{name: "a malformed digest", to: "api.tag=" + a3 + "\napi.digest=sha256:xyz", input: "to", msg: "is not an image digest"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(f.openPRs(t))
			res := f.rollback(t, c2, "INPUT_ENVIRONMENT=dev", "INPUT_REASON=INC-9", "INPUT_TO="+tc.to)
			if tc.input != "" {
				var ie *action.InputError
				if !errors.As(res.Err, &ie) || ie.Input != tc.input || !strings.Contains(res.Err.Error(), tc.msg) {
					t.Fatalf("err = %v, want input %q: %q\n%s", res.Err, tc.input, tc.msg, res.Log)
				}
				if n := len(f.openPRs(t)); n != before {
					t.Errorf("a refused rollback opened a PR (%d → %d)", before, n)
				}
				return
			}
			if res.Err != nil {
				t.Fatalf("%v\n%s", res.Err, res.Log)
			}
			var head string
			for _, pr := range f.openPRs(t) {
				if pr.GetHTMLURL() == res.Outputs["pull-request-url"] {
					head = pr.GetHead().GetRef()
				}
			}
			file, err := f.srv.ReadFile("acme", "infra", head, "envs/dev.json")
			if err != nil {
				t.Fatal(err)
			}
			for path, want := range tc.want {
				p, _ := envfile.ParsePath(path)
				if got, _, _ := envfile.Get([]byte(file), p); got != want {
					t.Errorf("%s = %q, want %q\n%s", path, got, want, file)
				}
			}
		})
	}
}
