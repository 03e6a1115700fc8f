package publish

import (
	"context"
	"fmt"
	"github.com/cicd-excellence/actions/internal/gitread"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/cicd-excellence/actions/internal/action"
	"github.com/cicd-excellence/actions/internal/event"
)

// OCI annotation keys the step sets on every manifest it pushes.
const (
	AnnotationRevision = "org.opencontainers.image.revision"
	AnnotationSource   = "org.opencontainers.image.source"
	AnnotationCreated  = "org.opencontainers.image.created"
	AnnotationVersion  = "org.opencontainers.image.version"
)

// Source types.
const (
	TypeAuto          = "auto"
	TypeOCILayout     = "oci-layout"
	TypeDockerArchive = "docker-archive"
	TypeFiles         = "files"
)

// DefaultArtifactType is the artifactType of a files artifact.
const DefaultArtifactType = "application/vnd.cicd-excellence.artifact.v1"

// config is the step's inputs, checked.
type config struct {
	Image        string // as pushed: lower case, no tag
	Repo         name.Repository
	WorkDir      string
	Sources      []string // absolute paths
	SourceNames  []string // as the user wrote them, for messages
	SourceType   string
	Tags         []string // bare tags; the revision first
	Publish      bool
	Insecure     bool
	ArtifactType string
	Revision     string
	Annotations  map[string]string
	RunURL       string

	Username     string
	Password     string
	DefaultCreds bool // username and password are the workflow's actor and token
}

var (
	// tagPattern is the tag grammar of the OCI distribution spec.
	tagPattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$`)
	// pathPattern is the distribution spec's repository name grammar.
	pathPattern = regexp.MustCompile(`^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$`)
	shaPattern  = regexp.MustCompile(`^(?:[0-9a-f]{40}|[0-9a-f]{64})$`)
	// mediaTypePattern is RFC 6838's type/subtype.
	mediaTypePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$`)
)

// notes are what parseConfig has to say: warnings, and plain log lines.
type notes struct {
	Warnings, Infos []string
}

// parseConfig reads and checks every input. It runs git for the commit time
// when created is empty, and nothing else outside the process.
func parseConfig(ctx context.Context, r *action.Runtime, ev *event.Context) (*config, *notes, error) {
	n := &notes{}
	c := &config{Password: r.Input("password"), Username: r.Input("username"), RunURL: ev.RunURL, WorkDir: r.WorkDir}
	c.DefaultCreds = r.Getenv("PUBLISH_DEFAULT_CREDENTIALS") == "true"

	var err error
	if c.Publish, err = r.BoolInput("publish", true); err != nil {
		return nil, nil, err
	}
	if c.Insecure, err = r.BoolInput("insecure", false); err != nil {
		return nil, nil, err
	}
	image, err := r.RequiredInput("image")
	if err != nil {
		return nil, nil, err
	}
	if c.Repo, c.Image, err = parseImage(image, c.Insecure); err != nil {
		return nil, nil, err
	}
	if c.Image != image {
		n.Infos = append(n.Infos, fmt.Sprintf("image %s has upper case letters, which registries refuse: using %s", image, c.Image))
	}

	if c.SourceType, err = r.ChoiceInput("source-type", TypeAuto, TypeAuto, TypeOCILayout, TypeDockerArchive, TypeFiles); err != nil {
		return nil, nil, err
	}
	c.SourceNames = r.LinesInput("source")
	if len(c.SourceNames) == 0 {
		return nil, nil, action.Inputf("source", "is required")
	}
	if len(c.SourceNames) > 1 && c.SourceType != TypeAuto && c.SourceType != TypeFiles {
		return nil, nil, action.Inputf("source", "has %d paths, but a source-type %s is one path (several paths are a files artifact)", len(c.SourceNames), c.SourceType)
	}
	for _, s := range c.SourceNames {
		p := s
		if !filepath.IsAbs(p) {
			p = filepath.Join(r.WorkDir, p)
		}
		c.Sources = append(c.Sources, filepath.Clean(p))
	}

	c.ArtifactType = r.Input("artifact-type")
	if c.ArtifactType == "" {
		c.ArtifactType = DefaultArtifactType
	}
	if !mediaTypePattern.MatchString(c.ArtifactType) {
		return nil, nil, action.Inputf("artifact-type", "%s is not a media type (type/subtype, such as %s)", strconv.Quote(c.ArtifactType), DefaultArtifactType)
	}

	c.Revision = strings.ToLower(r.Input("revision"))
	if c.Revision == "" {
		c.Revision = strings.ToLower(ev.SHA)
		if c.Revision == "" {
			return nil, nil, action.Inputf("revision", "is empty and the event has no commit (GITHUB_SHA is not set)")
		}
		if !shaPattern.MatchString(c.Revision) {
			return nil, nil, action.Inputf("revision", "is empty and the event's commit %s is not a full commit SHA", strconv.Quote(c.Revision))
		}
	} else if !shaPattern.MatchString(c.Revision) {
		return nil, nil, action.Inputf("revision", "%s is not a full commit SHA (40 hexadecimal digits)", strconv.Quote(c.Revision))
	}

	if c.Tags, err = parseTags(c.Revision, r.ListInput("tags")); err != nil {
		return nil, nil, err
	}

	version := r.Input("version")
	if version == "" {
		version = c.Revision
	}
	if err := checkAnnotationValue("version", version); err != nil {
		return nil, nil, err
	}
	sourceURL := r.Input("source-url")
	if sourceURL == "" && ev.Repository != "" {
		sourceURL = ev.ServerURL + "/" + ev.Repository
	}
	if sourceURL != "" {
		u, err := url.Parse(sourceURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || checkAnnotationValue("source-url", sourceURL) != nil {
			return nil, nil, action.Inputf("source-url", "%s is not an http(s) URL", strconv.Quote(sourceURL))
		}
	}
	created := r.Input("created")
	if created != "" {
		t, err := time.Parse(time.RFC3339, created)
		if err != nil {
			return nil, nil, action.Inputf("created", "%s is not an RFC 3339 time (such as 2024-05-01T12:00:00Z)", strconv.Quote(created))
		}
		created = t.UTC().Format(time.RFC3339)
	} else {
		t, err := (gitread.Reader{Dir: r.WorkDir}).CommitTime(ctx, c.Revision)
		if err != nil {
			t = time.Unix(0, 0)
			msg := fmt.Sprintf("cannot read the commit time of %s in %s (%v): created is %s; check out the repository (actions/checkout) or set created", c.Revision, r.WorkDir, err, t.UTC().Format(time.RFC3339))
			if c.Publish {
				n.Warnings = append(n.Warnings, msg)
			} else {
				// A pull request's shallow checkout often lacks its head
				// commit: not worth an annotation on every dry run.
				n.Infos = append(n.Infos, msg)
			}
		}
		created = t.UTC().Format(time.RFC3339)
	}

	c.Annotations = map[string]string{
		AnnotationRevision: c.Revision,
		AnnotationCreated:  created,
		AnnotationVersion:  version,
	}
	if sourceURL != "" {
		c.Annotations[AnnotationSource] = sourceURL
	}
	return c, n, nil
}

// tagRef is image:tag as the user wrote the image (docker.io stays docker.io).
func (c *config) tagRef(tag string) string { return c.Image + ":" + tag }

// parseImage checks a repository reference: a registry host, a path, no tag
// and no digest. Upper case is lowered (GitHub owners often have some).
func parseImage(image string, insecure bool) (name.Repository, string, error) {
	bad := func(format string, args ...any) (name.Repository, string, error) {
		return name.Repository{}, "", action.Inputf("image", "%s %s", strconv.Quote(image), fmt.Sprintf(format, args...))
	}
	if strings.Contains(image, "://") {
		return bad("has a URL scheme: give host/path, such as ghcr.io/org/api")
	}
	host, path, ok := strings.Cut(image, "/")
	if !ok || path == "" || !(host == "localhost" || strings.ContainsAny(host, ".:")) {
		return bad("does not start with a registry host: write it in full, such as ghcr.io/org/api or docker.io/org/api")
	}
	if strings.ContainsAny(path, "@:") {
		return bad("has a tag or digest: give the repository alone (such as ghcr.io/org/api) and the tags in tags")
	}
	lower := strings.ToLower(image)
	opts := []name.Option{name.StrictValidation}
	if insecure {
		opts = append(opts, name.Insecure)
	}
	repo, err := name.NewRepository(lower, opts...)
	if err != nil {
		return bad("is not a repository name: %v", err)
	}
	if !pathPattern.MatchString(repo.RepositoryStr()) {
		return bad("is not a repository name: each part of the path is lower-case letters and digits, separated by '.', '_', '__' or dashes")
	}
	return repo, lower, nil
}

// parseTags puts the revision first and checks every tag against the OCI tag
// grammar. latest is refused: tags here are immutable, so it would stay on
// its first image forever.
func parseTags(revision string, extra []string) ([]string, error) {
	tags := []string{revision}
	seen := map[string]bool{revision: true}
	for _, t := range extra {
		if !tagPattern.MatchString(t) {
			return nil, action.Inputf("tags", "%s is not a tag (letters, digits, '_', '.' and '-', at most 128, not starting with '.' or '-'; give tags alone, not image:tag)", strconv.Quote(t))
		}
		if t == "latest" {
			return nil, action.Inputf("tags", `"latest" would never move: tags are immutable here; deploy by the SHA tag or the digest`)
		}
		if !seen[t] {
			seen[t] = true
			tags = append(tags, t)
		}
	}
	return tags, nil
}

func checkAnnotationValue(input, v string) error {
	if len(v) > 1024 {
		return action.Inputf(input, "is longer than 1024 characters")
	}
	for _, c := range v {
		if c < 0x20 || c == 0x7f {
			return action.Inputf(input, "%s has control characters", strconv.Quote(v))
		}
	}
	return nil
}
