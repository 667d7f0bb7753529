package child

import (
	"runtime"
	"slices"
	"testing"
)

func TestEnv(t *testing.T) {
	for _, c := range []struct {
		name               string
		environ, hide, set []string
		region             string
		want               []string
	}{{
		name:    "hidden in any case, set after, last duplicate wins",
		environ: []string{"PATH=/bin", "A=1", "aws_profile=x", "AWS_PROFILE=prod", "A=2", "K=old"},
		hide:    []string{"AWS_PROFILE"}, set: []string{"K=new"},
		want: []string{"PATH=/bin", "A=2", "K=new"},
	}, {
		name:    "region added when none is set",
		environ: []string{"PATH=/bin"}, region: "eu-west-1",
		want: []string{"PATH=/bin", "AWS_REGION=eu-west-1", "AWS_DEFAULT_REGION=eu-west-1"},
	}, {
		name:    "empty region variables replaced",
		environ: []string{"AWS_REGION=", "PATH=/bin", "AWS_DEFAULT_REGION="}, region: "eu-west-1",
		want: []string{"PATH=/bin", "AWS_REGION=eu-west-1", "AWS_DEFAULT_REGION=eu-west-1"},
	}, {
		// Issue 23 item 14: AWS_REGION set and --region given left
		// AWS_DEFAULT_REGION unset, so AWS CLI v1 and boto3 had none.
		name:    "--region replaces a region already set, and sets the other",
		environ: []string{"AWS_REGION=ap-south-1", "PATH=/bin"}, region: "eu-west-1",
		want: []string{"PATH=/bin", "AWS_REGION=eu-west-1", "AWS_DEFAULT_REGION=eu-west-1"},
	}, {
		name:    "--region replaces AWS_DEFAULT_REGION alone too",
		environ: []string{"AWS_DEFAULT_REGION=ap-south-1", "AWS_REGION="}, region: "eu-west-1",
		want: []string{"AWS_REGION=eu-west-1", "AWS_DEFAULT_REGION=eu-west-1"},
	}, {
		name:    "a user's region kept without --region",
		environ: []string{"AWS_REGION=ap-south-1"},
		want:    []string{"AWS_REGION=ap-south-1"},
	}, {
		name:    "empty ones left alone without --region",
		environ: []string{"AWS_REGION="},
		want:    []string{"AWS_REGION="},
	}} {
		if got := Env(c.environ, c.hide, c.set, c.region); !slices.Equal(got, c.want) {
			t.Errorf("%s:\ngot  %q\nwant %q", c.name, got, c.want)
		}
	}
}

// TestEnvWindowsCase: on Windows, names differing in case are one variable.
func TestEnvWindowsCase(t *testing.T) {
	got := Env([]string{"Path=C:\\old", "PATH=C:\\new"}, nil, nil, "")
	want := []string{"Path=C:\\old", "PATH=C:\\new"}
	if runtime.GOOS == "windows" {
		want = []string{"PATH=C:\\new"}
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
