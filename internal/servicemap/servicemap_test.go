package servicemap

import (
	"strings"
	"testing"
)

func TestParseAndRepoFor(t *testing.T) {
	file := `{
  "default": "{owner}/{name}",
  "keys": {
    "svc-a.tag": "acme/svc-a",
    "shop.web.tag": "acme/shop"
  }
}
`
	m, err := Parse([]byte(file))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		key, infraOwner, want, err string
	}{
		{"svc-a.tag", "ops", "acme/svc-a", ""},
		{"shop.web.tag", "ops", "acme/shop", ""},
		{"api.tag", "ops", "ops/api", ""},
		{"billing.image", "ops", "ops/billing", ""},
		{"shop.cart.tag", "ops", "", `no app repository for "shop.cart.tag": the default rule maps only <name>.<field> keys`},
		{"tag", "ops", "", "the default rule maps only"},
		{"api.tag", "", "", "needs the infra repository's owner"},
	}
	for _, tc := range tests {
		owner, repo, err := m.RepoFor(tc.key, tc.infraOwner)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("RepoFor(%q) err = %v, want %q", tc.key, err, tc.err)
		case tc.err == "" && (err != nil || owner+"/"+repo != tc.want):
			t.Errorf("RepoFor(%q) = %s/%s, %v; want %s", tc.key, owner, repo, err, tc.want)
		}
	}
	if got := strings.Join(m.Keys(), ","); got != "shop.web.tag,svc-a.tag" {
		t.Errorf("Keys() = %s", got)
	}
}

func TestNoDefault(t *testing.T) {
	m, err := Parse([]byte(`{"keys": {"api.tag": "acme/api"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.RepoFor("web.tag", "acme"); err == nil || !strings.Contains(err.Error(), `no app repository for "web.tag": add it to "keys"`) {
		t.Errorf("err = %v", err)
	}
	if o, r, err := m.RepoFor("api.tag", "other"); err != nil || o != "acme" || r != "api" {
		t.Errorf("RepoFor = %s/%s, %v", o, r, err)
	}
}

func TestSingle(t *testing.T) {
	m := Single("acme", "app")
	for _, k := range []string{"api.tag", "a.b.c.tag", "tag"} {
		if o, r, err := m.RepoFor(k, "ops"); err != nil || o != "acme" || r != "app" {
			t.Errorf("RepoFor(%q) = %s/%s, %v", k, o, r, err)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	tests := []struct{ name, file, err string }{
		{"empty", ``, "line 1: unexpected EOF"},
		{"not an object", `["acme/api"]`, "line 1: the file must be a JSON object"},
		{"syntax", "{\n  \"keys\": {,}\n}", "line 2:"},
		{"unknown field", "{\n  \"default\": \"{owner}/{name}\",\n  \"repos\": {}\n}", `line 3: unknown field "repos"`},
		{"duplicate field", "{\"default\": \"a/b\",\n\"default\": \"a/c\"}", `line 2: field "default" appears twice`},
		{"duplicate key", "{\"keys\": {\n  \"api.tag\": \"acme/api\",\n  \"api.tag\": \"evil/api\"\n}}", `line 3: keys: "api.tag" appears twice`},
		{"bad repo", "{\"keys\": {\n  \"api.tag\": \"acme/api/x\"\n}}", `line 2: keys: "api.tag": "acme/api/x" is not owner/name`},
		{"repo with a space", `{"keys": {"api.tag": "acme/my api"}}`, "is not owner/name"},
		{"repo not a string", "{\"keys\": {\n\"api.tag\": 1}}", `line 2: keys: "api.tag": want a string`},
		{"bad key", `{"keys": {"api..tag": "acme/api"}}`, `keys: "api..tag" is not a version key`},
		{"keys not an object", `{"keys": ["acme/api"]}`, "keys must be an object"},
		{"default with another placeholder", `{"default": "{org}/{name}"}`, "the only placeholders are {owner} and {name}"},
		{"default not a repo", `{"default": "{name}"}`, "is not an owner/name rule"},
		{"default not a string", `{"default": true}`, "default: want a string"},
		{"trailing data", `{} {}`, "unexpected data after the object"},
		{"too big", `{"keys": {` + strings.Repeat(" ", MaxSize) + `}}`, "the limit is"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.file))
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("err = %v, want %q", err, tc.err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
}
