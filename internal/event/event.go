// Package event reads what triggered a workflow run: the GITHUB_* variables
// and the webhook payload at GITHUB_EVENT_PATH, reduced to the facts the
// actions decide on.
package event

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// Names of the events the actions understand specially.
const (
	Push              = "push"
	PullRequest       = "pull_request"
	PullRequestTarget = "pull_request_target"
	// PullRequestReview carries the same pull_request object: the infra
	// repo's validate runs again when a review is submitted, so an approval
	// can lift the bot guard on the bot's promotion PRs.
	PullRequestReview = "pull_request_review"
	MergeGroup        = "merge_group"
	WorkflowDispatch  = "workflow_dispatch"
	Release           = "release"
)

// ZeroSHA is the "before" of a push that created a ref and the "after" of one
// that deleted it.
const ZeroSHA = "0000000000000000000000000000000000000000"

// Context is the trigger of a run.
type Context struct {
	Name       string // GITHUB_EVENT_NAME
	Action     string // payload "action" (opened, synchronize, ...)
	Repository string // owner/name
	Actor      string
	ServerURL  string
	APIURL     string
	RunURL     string

	Ref     string // full ref: refs/heads/main, refs/tags/v1, refs/pull/1/merge
	RefName string // short name: main, v1, 1/merge
	RefType string // "branch", "tag" or ""
	SHA     string // the commit the run is about (for pull requests the head, not the merge commit)

	DefaultBranch string // repository.default_branch of the payload

	// Push
	Before  string
	After   string
	Created bool
	Deleted bool
	Forced  bool

	// Pull requests and merge groups
	HeadRef  string // branch name
	BaseRef  string // branch name
	PRNumber int
	HeadRepo string // owner/name of the head, differs from Repository for forks
	BaseSHA  string // the base branch's commit when the PR event fired
	PRAuthor string // login of the PR's author

	Payload json.RawMessage
}

// Load reads the context from environment variables through getenv.
func Load(getenv func(string) string) (*Context, error) {
	c := &Context{
		Name:       getenv("GITHUB_EVENT_NAME"),
		Repository: getenv("GITHUB_REPOSITORY"),
		Actor:      getenv("GITHUB_ACTOR"),
		ServerURL:  strings.TrimRight(or(getenv("GITHUB_SERVER_URL"), "https://github.com"), "/"),
		APIURL:     strings.TrimRight(or(getenv("GITHUB_API_URL"), "https://api.github.com"), "/"),
		Ref:        getenv("GITHUB_REF"),
		SHA:        getenv("GITHUB_SHA"),
		HeadRef:    getenv("GITHUB_HEAD_REF"),
		BaseRef:    getenv("GITHUB_BASE_REF"),
	}
	if id := getenv("GITHUB_RUN_ID"); id != "" && c.Repository != "" {
		c.RunURL = fmt.Sprintf("%s/%s/actions/runs/%s", c.ServerURL, c.Repository, id)
	}
	if path := getenv("GITHUB_EVENT_PATH"); path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read event payload: %w", err)
		}
		if err := c.parse(data); err != nil {
			return nil, fmt.Errorf("read event payload %s: %w", path, err)
		}
	}
	c.fill()
	return c, nil
}

// Parse builds a context from an event name and a payload alone, as a test or
// a local run has them.
func Parse(name string, payload []byte) (*Context, error) {
	c := &Context{Name: name, ServerURL: "https://github.com", APIURL: "https://api.github.com"}
	if err := c.parse(payload); err != nil {
		// Quoted: the name is the caller's and may carry a line break; the
		// error stays one line.
		return nil, fmt.Errorf("parse %q payload: %w", name, err)
	}
	c.fill()
	return c, nil
}

type payload struct {
	Action     string `json:"action"`
	Ref        string `json:"ref"`
	RefType    string `json:"ref_type"`
	Before     string `json:"before"`
	After      string `json:"after"`
	Created    bool   `json:"created"`
	Deleted    bool   `json:"deleted"`
	Forced     bool   `json:"forced"`
	Repository *struct {
		FullName      string `json:"full_name"`
		DefaultBranch string `json:"default_branch"`
	} `json:"repository"`
	Sender *struct {
		Login string `json:"login"`
	} `json:"sender"`
	PullRequest *struct {
		Number int `json:"number"`
		Head   struct {
			Ref  string `json:"ref"`
			SHA  string `json:"sha"`
			Repo *struct {
				FullName string `json:"full_name"`
			} `json:"repo"`
		} `json:"head"`
		Base struct {
			Ref string `json:"ref"`
			SHA string `json:"sha"`
		} `json:"base"`
		User *struct {
			Login string `json:"login"`
		} `json:"user"`
	} `json:"pull_request"`
	MergeGroup *struct {
		HeadSHA string `json:"head_sha"`
		HeadRef string `json:"head_ref"`
		BaseRef string `json:"base_ref"`
	} `json:"merge_group"`
	Release *struct {
		TagName string `json:"tag_name"`
	} `json:"release"`
}

func (c *Context) parse(data []byte) error {
	if len(strings.TrimSpace(string(data))) == 0 {
		return nil
	}
	var p payload
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	c.Payload = json.RawMessage(data)
	c.Action = p.Action
	if p.Repository != nil {
		c.Repository = or(c.Repository, p.Repository.FullName)
		c.DefaultBranch = p.Repository.DefaultBranch
	}
	if p.Sender != nil {
		c.Actor = or(c.Actor, p.Sender.Login)
	}
	switch c.Name {
	case Push:
		c.Ref = or(p.Ref, c.Ref)
		c.Before, c.After = p.Before, p.After
		c.Created, c.Deleted, c.Forced = p.Created, p.Deleted, p.Forced
		if p.After != "" && p.After != ZeroSHA {
			c.SHA = p.After
		}
	case PullRequest, PullRequestTarget, PullRequestReview:
		if pr := p.PullRequest; pr != nil {
			c.PRNumber = pr.Number
			c.HeadRef, c.BaseRef = pr.Head.Ref, pr.Base.Ref
			c.BaseSHA = pr.Base.SHA
			if pr.User != nil {
				c.PRAuthor = pr.User.Login
			}
			// The run's GITHUB_SHA is a merge commit that exists nowhere
			// else; what gets built and named is the head.
			c.SHA = pr.Head.SHA
			if pr.Head.Repo != nil {
				c.HeadRepo = pr.Head.Repo.FullName
			}
			if c.Ref == "" {
				c.Ref = fmt.Sprintf("refs/pull/%d/merge", pr.Number)
			}
		}
	case MergeGroup:
		if mg := p.MergeGroup; mg != nil {
			c.SHA = or(mg.HeadSHA, c.SHA)
			c.Ref = or(c.Ref, mg.HeadRef)
			c.HeadRef = strings.TrimPrefix(mg.HeadRef, "refs/heads/")
			c.BaseRef = strings.TrimPrefix(mg.BaseRef, "refs/heads/")
		}
	case WorkflowDispatch:
		c.Ref = or(c.Ref, p.Ref)
	case Release:
		if p.Release != nil && c.Ref == "" {
			c.Ref = "refs/tags/" + p.Release.TagName
		}
	case "create", "delete":
		if c.Ref == "" && p.Ref != "" {
			if p.RefType == "tag" {
				c.Ref = "refs/tags/" + p.Ref
			} else {
				c.Ref = "refs/heads/" + p.Ref
			}
		}
	}
	return nil
}

func (c *Context) fill() {
	switch {
	case strings.HasPrefix(c.Ref, "refs/heads/"):
		c.RefType, c.RefName = "branch", strings.TrimPrefix(c.Ref, "refs/heads/")
	case strings.HasPrefix(c.Ref, "refs/tags/"):
		c.RefType, c.RefName = "tag", strings.TrimPrefix(c.Ref, "refs/tags/")
	default:
		c.RefName = strings.TrimPrefix(c.Ref, "refs/")
	}
}

// Branch is the branch the run is about: the pushed branch, or the head
// branch of a pull request or merge group. Empty for tags.
func (c *Context) Branch() string {
	switch c.Name {
	case PullRequest, PullRequestTarget, PullRequestReview, MergeGroup:
		return c.HeadRef
	}
	if c.RefType == "branch" {
		return c.RefName
	}
	return ""
}

// TargetBranch is where the change lands: the base of a pull request or merge
// group, otherwise the branch itself.
func (c *Context) TargetBranch() string {
	switch c.Name {
	case PullRequest, PullRequestTarget, PullRequestReview, MergeGroup:
		return c.BaseRef
	}
	return c.Branch()
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// IsPullRequest reports whether the event is about a pull request and
// carries its head and base (pull_request, pull_request_target,
// pull_request_review).
func (c *Context) IsPullRequest() bool {
	switch c.Name {
	case PullRequest, PullRequestTarget, PullRequestReview:
		return true
	}
	return false
}
