package deploy

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode"

	gh "github.com/google/go-github/v60/github"

	openinfrapr "github.com/cicd-excellence/actions/open-infra-pr"

	"github.com/cicd-excellence/actions/internal/action"
	"github.com/cicd-excellence/actions/internal/envfile"
	"github.com/cicd-excellence/actions/internal/event"
	"github.com/cicd-excellence/actions/internal/ghclient"
	"github.com/cicd-excellence/actions/internal/refname"
)

// maxReason bounds the hold's text: it is a one-line note in a JSON file.
const maxReason = 200

// rollbackPlan is what a rollback changes and why.
type rollbackPlan struct {
	env, file, reason string
	from, to          map[string]string // the file's values now → the rolled-back ones
	current, previous *Record           // with to: previous
	holds             []envfile.Path
}

// runRollback opens a PR that sets an environment back to earlier versions
// and places the documented hold on them, so the pipeline's automation
// leaves them alone until a reviewed PR lifts it. Nothing is deployed here:
// the PR is approved like any change, and its merge is what deploys.
func runRollback(ctx context.Context, r *action.Runtime, ev *event.Context, c common) error {
	env, err := r.RequiredInput("environment")
	if err != nil {
		return err
	}
	if err := validEnvironment(env); err != nil {
		return action.Inputf("environment", "%v", err)
	}
	reason, err := r.RequiredInput("reason")
	if err != nil {
		return err
	}
	if strings.TrimSpace(reason) != reason || len(reason) > maxReason || strings.ContainsFunc(reason, unicode.IsControl) {
		return action.Inputf("reason", "must be one line of at most %d characters without leading or trailing spaces", maxReason)
	}
	to := strings.TrimSpace(r.Input("to"))
	if to == "" {
		to = "previous"
	}
	trusted, err := deployers(r)
	if err != nil {
		return err
	}
	app, err := optionalRepo(r, "app-repo")
	if err != nil {
		return err
	}
	owner, name, err := refname.Repo(ev.Repository)
	if err != nil {
		return fmt.Errorf("rollback: GITHUB_REPOSITORY: %w", err)
	}
	file, _ := envFile(c.dir, env)
	client, err := ghclient.FromRuntime(r)
	if err != nil {
		return err
	}
	repo, _, err := client.Repositories.Get(ctx, owner, name)
	if err != nil {
		return ghclient.Wrap("read the repository", ev.Repository, err)
	}
	base := repo.GetDefaultBranch()
	content, err := readAt(ctx, client, owner, name, file, base)
	if err != nil {
		return err
	}
	if content == nil {
		return action.Inputf("environment", "%s has no file %s on %s", env, file, base)
	}
	values, err := envfile.Values(content, c.patterns)
	if err != nil {
		return fmt.Errorf("rollback: %s on %s: %w", file, base, err)
	}
	p := &rollbackPlan{env: env, file: file, reason: reason, from: map[string]string{}, to: map[string]string{}}
	switch {
	case to == "previous":
		h := &history{gh: client, owner: owner, repo: name, trusted: trusted, warn: r.Warningf}
		if p.current, p.previous, err = h.previous(ctx, env); err != nil {
			return fmt.Errorf("rollback: %w", err)
		}
		if p.current == nil {
			return action.Inputf("to", "previous: %s has no successful deployment recorded by %s", env, strings.Join(trusted, ", "))
		}
		if p.previous == nil {
			return action.Inputf("to", "previous: %s has no successful deployment before %d with other versions; name the versions instead", env, p.current.ID)
		}
		for k, v := range p.previous.Versions {
			if _, ok := values[k]; !ok {
				r.Warningf("%s is in deployment %d but no longer in %s: left out", k, p.previous.ID, file)
				continue
			}
			p.to[k] = v
		}
	default:
		if p.to, err = parseTo(to, values, r.Input("version-key")); err != nil {
			return err
		}
		h := &history{gh: client, owner: owner, repo: name, trusted: trusted, warn: r.Warningf}
		if err := p.digests(ctx, h, values); err != nil {
			return err
		}
	}
	for k, v := range p.to {
		if values[k] == v {
			delete(p.to, k)
			continue
		}
		p.from[k] = values[k]
	}
	if len(p.to) == 0 {
		return action.Inputf("to", "%s already holds these versions on %s: nothing to roll back", file, base)
	}
	edits, err := p.edits(content)
	if err != nil {
		return err
	}
	cfg := openinfrapr.Config{
		Owner: owner, Repo: name, Environment: env, File: file, Base: base,
		Edits:          edits,
		Merge:          openinfrapr.MergeNone, // a human approves a rollback like any change
		AllowDowngrade: true,
		CreateMissing:  true, // the hold key
		Title:          "Roll back " + env + ": " + strings.NewReplacer("{", "(", "}", ")").Replace(reason),
		Body:           p.body(ev.ServerURL, app),
		Labels:         []string{"rollback"},
		// Not the bot's prefix: a rollback is a human-approved change, which
		// the bot guard and the bot-branches rulesets must not treat as the
		// bot's own.
		BranchPrefix: "rollback/",
		Actor:        ev.Actor, SourceSHA: ev.SHA, RunURL: ev.RunURL, ServerURL: ev.ServerURL,
	}
	if app != "" {
		cfg.AppOwner, cfg.AppRepo, _ = refname.Repo(app)
		cfg.HotfixPrefix = "hotfixes/"
	}
	u := &openinfrapr.Updater{GH: client, Cfg: cfg, Now: r.Now, Log: r.Infof, Notice: r.Noticef, Warn: r.Warningf}
	out, err := u.Run(ctx)
	if err != nil {
		return fmt.Errorf("rollback: %w", err)
	}
	if out.URL == "" {
		return fmt.Errorf("rollback: no PR was opened (%s: %s)", out.Operation, out.Reason)
	}
	if err := r.SetOutput("pull-request-url", out.URL); err != nil {
		return fmt.Errorf("rollback: %w", err)
	}
	r.Infof("%s PR #%d rolling %s back: %s", out.Operation, out.Number, env, out.URL)
	return r.Summary(fmt.Sprintf("### Rollback of %s\n\n[PR #%d](%s)\n\n%s", action.MDEscape(env), out.Number, out.URL, p.table()))
}

// parseTo reads an explicit target: one full SHA for the only tracked key
// (or version-key), or key=sha lines.
func parseTo(to string, values map[string]string, versionKey string) (map[string]string, error) {
	out := map[string]string{}
	if !strings.Contains(to, "=") {
		if !refname.IsFullSHA(to) {
			return nil, action.Inputf("to", "%s is neither previous, a full commit SHA nor key=sha lines", strconv.Quote(to))
		}
		key := versionKey
		if key == "" {
			// A digest beside a tag is not a second version: api.tag with
			// api.digest is one.
			versions := envfile.VersionKeys(values)
			if len(versions) != 1 {
				return nil, action.Inputf("to", "the file has %d versions (%s): write key=sha lines", len(versions), strings.Join(slices.Sorted(slices.Values(versions)), ", "))
			}
			key = versions[0]
		}
		if _, ok := values[key]; !ok {
			return nil, action.Inputf("version-key", "%s is not a tracked key of the file", strconv.Quote(key))
		}
		out[key] = strings.ToLower(to)
		return out, nil
	}
	for _, line := range strings.FieldsFunc(to, func(r rune) bool { return r == '\n' || r == ',' }) {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch {
		case !ok || k == "":
			return nil, action.Inputf("to", "%s is not key=sha", strconv.Quote(line))
		case envfile.KindOf(k) == envfile.KindDigest:
			if err := envfile.ValidDigest(v); err != nil {
				return nil, action.Inputf("to", "%s: %v", k, err)
			}
		case !refname.IsFullSHA(v):
			return nil, action.Inputf("to", "%s: %s is not a full commit SHA", k, strconv.Quote(v))
		}
		if _, tracked := values[k]; !tracked {
			return nil, action.Inputf("to", "%s is not a tracked key of the file (tracked: %s)", strconv.Quote(k), strings.Join(slices.Sorted(maps.Keys(values)), ", "))
		}
		if _, dup := out[k]; dup {
			return nil, action.Inputf("to", "%s is given twice", k)
		}
		out[k] = strings.ToLower(v)
	}
	return out, nil
}

// digests completes an explicit target: a tag rolled back beside a digest
// takes the digest it was deployed with, from the newest trusted record of
// the environment (whole or of the tag's service) that ran it. Writing the
// old tag beside the current digest would pin an image that is not the
// tag's; with no record to read it from, the run asks for a key=digest line.
func (p *rollbackPlan) digests(ctx context.Context, h *history, values map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(p.to)) {
		path, err := envfile.ParsePath(k)
		if err != nil || path.IsDigest() {
			continue
		}
		dk := path.Sibling(envfile.DigestKey).String()
		if _, tracked := values[dk]; !tracked {
			continue // the file records no digest for this tag
		}
		if _, given := p.to[dk]; given {
			continue
		}
		d, err := h.digestOf(ctx, p.env, k, p.to[k])
		if err != nil {
			return fmt.Errorf("rollback: %w", err)
		}
		if d == "" {
			return action.Inputf("to", "%s=%s: no deployment of %s recorded by a deployer holds its digest; add a line %s=sha256:…", k, abbrev(p.to[k]), p.env, dk)
		}
		p.to[dk] = d
	}
	return nil
}

// edits are the versions plus a hold in each object holding one. A key
// already held is refused: automation skips held keys, so such a rollback
// is a PR of its own (or lift the hold first).
func (p *rollbackPlan) edits(content []byte) ([]envfile.Edit, error) {
	var edits []envfile.Edit
	holds := map[string]envfile.Path{}
	for _, k := range slices.Sorted(maps.Keys(p.to)) {
		path, err := envfile.ParsePath(k)
		if err != nil {
			return nil, fmt.Errorf("rollback: %w", err)
		}
		if why, held := envfile.Hold(content, path); held {
			return nil, action.Inputf("environment", "%s in %s is already held (%s): lift the hold or change the file in a PR of your own", k, p.file, why)
		}
		edits = append(edits, envfile.Edit{Path: path, Value: p.to[k]})
		hp, err := holdPath(path)
		if err != nil {
			return nil, fmt.Errorf("rollback: %w", err)
		}
		holds[hp.String()] = hp
	}
	for _, k := range slices.Sorted(maps.Keys(holds)) {
		edits = append(edits, envfile.Edit{Path: holds[k], Value: p.reason})
		p.holds = append(p.holds, holds[k])
	}
	return edits, nil
}

// holdPath is the "hold" key beside a value: api.tag → api.hold.
func holdPath(p envfile.Path) (envfile.Path, error) {
	segs := p.Segments()
	segs[len(segs)-1] = envfile.HoldKey
	for i, s := range segs {
		segs[i] = strings.NewReplacer(`\`, `\\`, ".", `\.`).Replace(s)
	}
	return envfile.ParsePath(strings.Join(segs, "."))
}

func (p *rollbackPlan) table() string {
	var b strings.Builder
	b.WriteString("| Key | From | To |\n|---|---|---|\n")
	for _, k := range slices.Sorted(maps.Keys(p.to)) {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", action.MDCode(k), orNone(p.from[k]), action.MDCode(p.to[k]))
	}
	return b.String()
}

// body says what is rolled back, from what, to what, why, and how the hold
// is lifted later.
func (p *rollbackPlan) body(server, app string) string {
	var b strings.Builder
	// The before → after table follows from open-infra-pr's PR body: one table, not two.
	fmt.Fprintf(&b, "**Rollback of %s.** Reason: %s\n", action.MDEscape(p.env), action.MDEscape(p.reason))
	if p.current != nil {
		fmt.Fprintf(&b, "\nFrom deployment %d (infra %s) back to the versions of deployment %d (infra %s), the last successful deployment of %s before it.\n",
			p.current.ID, action.MDCode(abbrev(p.current.SHA)), p.previous.ID, action.MDCode(abbrev(p.previous.SHA)), action.MDEscape(p.env))
	}
	if app != "" {
		for _, k := range slices.Sorted(maps.Keys(p.to)) {
			if refname.IsFullSHA(p.from[k]) {
				fmt.Fprintf(&b, "\n%s: [what is rolled back](%s/%s/compare/%s...%s)", action.MDCode(k), server, app, p.to[k], p.from[k])
			}
		}
		b.WriteString("\n")
	}
	holds := make([]string, len(p.holds))
	for i, h := range p.holds {
		holds[i] = action.MDCode(h.String())
	}
	fmt.Fprintf(&b, "\nThis PR also sets %s in %s: while it is there, the pipeline's automation (open-infra-pr) leaves these keys alone. "+
		"Lift it with a PR removing the \"hold\" field once the cause is fixed.\n", strings.Join(holds, ", "), action.MDCode(p.file))

	return b.String()
}

// readAt reads a file at a ref through the API; nil when it does not exist.
func readAt(ctx context.Context, client *gh.Client, owner, repo, path, ref string) ([]byte, error) {
	fc, _, _, err := client.Repositories.GetContents(ctx, owner, repo, path, &gh.RepositoryContentGetOptions{Ref: ref})
	if status(err) == http.StatusNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, ghclient.Wrap(fmt.Sprintf("read %s at %s", path, ref), owner+"/"+repo, err)
	}
	if fc == nil || fc.GetType() != "file" {
		return nil, nil
	}
	text, err := fc.GetContent()
	if err != nil {
		return nil, fmt.Errorf("read %s at %s: %w", path, ref, err)
	}
	return []byte(text), nil
}

// abbrev shortens a SHA for prose.
func abbrev(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}
