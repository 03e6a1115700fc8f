package deploy

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	gh "github.com/google/go-github/v60/github"

	"github.com/cicd-excellence/actions/internal/envdiff"
	"github.com/cicd-excellence/actions/internal/envfile"
	"github.com/cicd-excellence/actions/internal/ghclient"
)

// apiReader reads the infra repo at a commit through the REST API, for the
// commits a clone does not have (a force push's before). Three requests per
// file at most, whatever the repository's size.
type apiReader struct {
	gh          *gh.Client
	owner, repo string
}

var _ envdiff.Reader = (*apiReader)(nil)

func (a *apiReader) Exists(ctx context.Context, sha string) (bool, error) {
	_, _, err := a.gh.Git.GetCommit(ctx, a.owner, a.repo, sha)
	switch {
	case err == nil:
		return true, nil
	case status(err) == http.StatusNotFound || status(err) == http.StatusUnprocessableEntity:
		return false, nil
	}
	return false, ghclient.Wrap("read commit "+sha, a.owner+"/"+a.repo, err)
}

func (a *apiReader) ListFiles(ctx context.Context, sha, dir string) ([]string, error) {
	_, entries, _, err := a.gh.Repositories.GetContents(ctx, a.owner, a.repo, dir, &gh.RepositoryContentGetOptions{Ref: sha})
	if status(err) == http.StatusNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, ghclient.Wrap(fmt.Sprintf("list %s at %s", dir, sha), a.owner+"/"+a.repo, err)
	}
	var files []string
	for _, e := range entries {
		if e.GetType() == "file" {
			files = append(files, e.GetPath())
		}
	}
	return files, nil
}

func (a *apiReader) ReadFile(ctx context.Context, sha, path string) ([]byte, bool, error) {
	fc, _, _, err := a.gh.Repositories.GetContents(ctx, a.owner, a.repo, path, &gh.RepositoryContentGetOptions{Ref: sha})
	if status(err) == http.StatusNotFound {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, ghclient.Wrap(fmt.Sprintf("read %s at %s", path, sha), a.owner+"/"+a.repo, err)
	}
	if fc == nil || fc.GetType() != "file" {
		return nil, false, nil
	}
	if fc.GetSize() > envfile.DefaultMaxSize {
		return nil, false, fmt.Errorf("%s at %s is %d bytes; the limit is %d", path, sha, fc.GetSize(), envfile.DefaultMaxSize)
	}
	text, err := fc.GetContent()
	if err != nil {
		return nil, false, fmt.Errorf("read %s at %s: %w", path, sha, err)
	}
	return []byte(text), true, nil
}

func status(err error) int { return ghclient.Status(err) }

func lineOf(err error) int {
	var se *envfile.SyntaxError
	if errors.As(err, &se) {
		return se.Line
	}
	return 0
}
