package githubtest

import (
	"context"
	"sort"
	"strings"
)

// OnHead calls f, in its own goroutine, whenever an open pull request into
// owner/repo gets a head SHA f has not been told about: when it is opened,
// when its head branch moves (API ref update, contents PUT, update-branch,
// git push). Heads are noticed when the API serves a request for the
// repository or a push lands, so a change made with the seeding helpers
// (CommitFiles, OpenPullRequest) is reported on the next request, as
// GitHub's events are asynchronous too. Pull requests already open when
// OnHead is called are reported on that next request.
//
// It models the CI workflow that runs on pull_request events and reports a
// check; pair it with ReportCheck:
//
//	srv.OnHead("acme", "infra", func(pr int, sha string) {
//		time.Sleep(200 * time.Millisecond)
//		srv.ReportCheck("acme", "infra", sha, "validate", ciAppID, "success")
//	})
func (s *Server) OnHead(owner, repo string, f func(pr int, headSHA string)) {
	key := strings.ToLower(owner + "/" + repo)
	s.mu.Lock()
	s.onHead[key] = append(s.onHead[key], f)
	s.mu.Unlock()
}

// noticeHeads reports new heads of r's open pull requests to its OnHead
// hooks; without hooks it costs nothing.
func (s *Server) noticeHeads(r *repoState) {
	if r == nil {
		return
	}
	key := strings.ToLower(r.fullName())
	type open struct {
		number  int
		headRef string
	}
	s.mu.Lock()
	if len(s.onHead[key]) == 0 || s.closed {
		s.mu.Unlock()
		return
	}
	var prs []open
	for _, p := range r.pulls {
		if p.state == "open" {
			prs = append(prs, open{p.number, p.headRef})
		}
	}
	s.mu.Unlock()
	sort.Slice(prs, func(i, j int) bool { return prs[i].number < prs[j].number })
	heads := map[int]string{}
	for _, p := range prs {
		sha, err := r.git.commitOf(context.Background(), "refs/heads/"+p.headRef)
		if err != nil || sha == "" {
			continue
		}
		heads[p.number] = sha
	}
	type event struct {
		pr  int
		sha string
	}
	var events []event
	s.mu.Lock()
	seen := s.headSeen[key]
	if seen == nil {
		seen = map[int]string{}
		s.headSeen[key] = seen
	}
	for _, p := range prs {
		if sha, ok := heads[p.number]; ok && seen[p.number] != sha {
			seen[p.number] = sha
			events = append(events, event{p.number, sha})
		}
	}
	hooks := append([]func(int, string){}, s.onHead[key]...)
	s.mu.Unlock()
	for _, e := range events {
		for _, f := range hooks {
			go f(e.pr, e.sha)
		}
	}
}
