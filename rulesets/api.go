package rulesets

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	gh "github.com/google/go-github/v60/github"

	"github.com/cicd-excellence/actions/internal/ghclient"
)

// API reads and writes rulesets as raw JSON through go-github's raw
// requests: its typed ruleset structs fail on rule types newer than v60
// (merge_queue, ...) and lack newer bypass modes, and a ruleset the action
// cannot decode is exactly the one an auditor needs to see.
type API struct {
	Client *gh.Client
}

// LiveRuleset is one entry of the repository's ruleset list.
type LiveRuleset struct {
	ID         int64
	Name       string
	SourceType string // "Repository", "Organization", ...
	Source     string
}

func (a API) do(ctx context.Context, method, path string, body any) (json.RawMessage, *gh.Response, error) {
	req, err := a.Client.NewRequest(method, path, body)
	if err != nil {
		return nil, nil, err
	}
	var raw json.RawMessage
	resp, err := a.Client.Do(ctx, req, &raw)
	return raw, resp, err
}

func repoPath(owner, repo string) string {
	return "repos/" + url.PathEscape(owner) + "/" + url.PathEscape(repo)
}

// Rulesets lists the repository's own rulesets (GET .../rulesets,
// includes_parents=false: organization rulesets cannot be changed here), all
// pages.
func (a API) Rulesets(ctx context.Context, owner, repo string) ([]LiveRuleset, error) {
	var out []LiveRuleset
	for page := 1; ; {
		raw, resp, err := a.do(ctx, "GET", fmt.Sprintf("%s/rulesets?includes_parents=false&per_page=100&page=%d", repoPath(owner, repo), page), nil)
		if err != nil {
			return nil, ghclient.Wrap("list rulesets", owner+"/"+repo, err)
		}
		v, err := decode(raw)
		if err != nil {
			return nil, fmt.Errorf("list rulesets in %s/%s: unreadable answer: %v", owner, repo, err)
		}
		list, _ := v.([]any)
		for _, item := range list {
			m, ok := item.(map[string]any)
			if !ok {
				continue
			}
			id, _ := intValue(m["id"])
			lr := LiveRuleset{ID: id}
			lr.Name, _ = m["name"].(string)
			lr.SourceType, _ = m["source_type"].(string)
			lr.Source, _ = m["source"].(string)
			out = append(out, lr)
		}
		if resp == nil || resp.NextPage == 0 {
			return out, nil
		}
		page = resp.NextPage
	}
}

// Ruleset reads one ruleset with its conditions, rules and bypass actors.
func (a API) Ruleset(ctx context.Context, owner, repo string, id int64) (map[string]any, error) {
	raw, _, err := a.do(ctx, "GET", fmt.Sprintf("%s/rulesets/%d", repoPath(owner, repo), id), nil)
	if err != nil {
		return nil, ghclient.Wrap(fmt.Sprintf("read ruleset %d", id), owner+"/"+repo, err)
	}
	m, err := decodeObject(raw)
	if err != nil {
		return nil, fmt.Errorf("read ruleset %d in %s/%s: unreadable answer: %v", id, owner, repo, err)
	}
	return m, nil
}

// Create adds a ruleset (POST .../rulesets) and returns GitHub's copy.
func (a API) Create(ctx context.Context, owner, repo string, rs Ruleset) (map[string]any, error) {
	raw, _, err := a.do(ctx, "POST", repoPath(owner, repo)+"/rulesets", rs.Body)
	if err != nil {
		return nil, ghclient.Wrap(fmt.Sprintf("create ruleset %q", rs.Name()), owner+"/"+repo, err)
	}
	return decodeObject(raw)
}

// Update replaces a ruleset (PUT .../rulesets/{id}) with the whole desired
// body, so nothing of the old one survives.
func (a API) Update(ctx context.Context, owner, repo string, id int64, rs Ruleset) (map[string]any, error) {
	raw, _, err := a.do(ctx, "PUT", fmt.Sprintf("%s/rulesets/%d", repoPath(owner, repo), id), rs.Body)
	if err != nil {
		return nil, ghclient.Wrap(fmt.Sprintf("update ruleset %q", rs.Name()), owner+"/"+repo, err)
	}
	return decodeObject(raw)
}

// Delete removes a ruleset (DELETE .../rulesets/{id}); one already gone is
// not an error.
func (a API) Delete(ctx context.Context, owner, repo string, id int64) error {
	if _, resp, err := a.do(ctx, "DELETE", fmt.Sprintf("%s/rulesets/%d", repoPath(owner, repo), id), nil); err != nil && (resp == nil || resp.StatusCode != 404) {
		return ghclient.Wrap(fmt.Sprintf("delete ruleset %d", id), owner+"/"+repo, err)
	}
	return nil
}

// DefaultBranch reads the repository's default branch.
func (a API) DefaultBranch(ctx context.Context, owner, repo string) (string, error) {
	raw, _, err := a.do(ctx, "GET", repoPath(owner, repo), nil)
	if err != nil {
		return "", ghclient.Wrap("read the repository", owner+"/"+repo, err)
	}
	m, err := decodeObject(raw)
	if err != nil {
		return "", fmt.Errorf("read the repository %s/%s: unreadable answer: %v", owner, repo, err)
	}
	b, _ := m["default_branch"].(string)
	return b, nil
}

// BranchRules lists the rules in force on a branch, from every active
// ruleset that applies, organization ones included (GET .../rules/branches/
// {branch}), all pages.
func (a API) BranchRules(ctx context.Context, owner, repo, branch string) ([]map[string]any, error) {
	parts := strings.Split(branch, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	var out []map[string]any
	for page := 1; ; {
		raw, resp, err := a.do(ctx, "GET", fmt.Sprintf("%s/rules/branches/%s?per_page=100&page=%d", repoPath(owner, repo), strings.Join(parts, "/"), page), nil)
		if err != nil {
			return nil, ghclient.Wrap("list the rules in force on "+branch, owner+"/"+repo, err)
		}
		v, err := decode(raw)
		if err != nil {
			return nil, fmt.Errorf("list the rules in force on %s in %s/%s: unreadable answer: %v", branch, owner, repo, err)
		}
		list, _ := v.([]any)
		for _, item := range list {
			if m, ok := item.(map[string]any); ok {
				out = append(out, m)
			}
		}
		if resp == nil || resp.NextPage == 0 {
			return out, nil
		}
		page = resp.NextPage
	}
}
