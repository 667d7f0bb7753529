package cred

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/explain"
	"github.com/gcp-aws-cred/gcp-aws-cred/sts"
)

func TestSTSRegion(t *testing.T) {
	const (
		aws   = "arn:aws:iam::123456789012:role/r"
		cn    = "arn:aws-cn:iam::123456789012:role/r"
		gov   = "arn:aws-us-gov:iam::123456789012:role/r"
		iso   = "arn:aws-iso:iam::123456789012:role/r"
		eusc  = "arn:aws-eusc:iam::123456789012:role/r"
		isoF  = "arn:aws-iso-f:iam::123456789012:role/r"
		vpce  = "https://vpce-1.sts.cn-north-1.vpce.amazonaws.com.cn"
		noEnv = ""
	)
	for _, tc := range []struct {
		role, flag, awsRegion, awsDefault, endpoint string
		want                                        string
		source                                      RegionSource
		err                                         string
		hints                                       []string
	}{
		{role: aws, want: "us-east-1", source: RegionDefault},
		{role: "", want: "us-east-1", source: RegionDefault},
		{role: aws, flag: "eu-west-1", awsRegion: "ap-south-1", awsDefault: "sa-east-1", want: "eu-west-1", source: RegionFromFlag},
		{role: aws, awsRegion: "ap-south-1", awsDefault: "sa-east-1", want: "ap-south-1", source: RegionFromAWSRegion},
		{role: aws, awsDefault: "sa-east-1", want: "sa-east-1", source: RegionFromAWSDefaultRegion},
		// An empty variable is unset, as in the AWS tools.
		{role: aws, awsRegion: noEnv, awsDefault: "sa-east-1", want: "sa-east-1", source: RegionFromAWSDefaultRegion},

		// No region given: the role's partition decides, never us-east-1
		// for a role STS there cannot assume.
		{role: cn, want: "cn-north-1", source: RegionFromPartition},
		{role: gov, want: "us-gov-west-1", source: RegionFromPartition},
		{role: eusc, want: "eusc-de-east-1", source: RegionFromPartition},
		{role: cn, flag: "cn-northwest-1", want: "cn-northwest-1", source: RegionFromFlag},
		{role: gov, awsRegion: "us-gov-east-1", want: "us-gov-east-1", source: RegionFromAWSRegion},
		{role: iso, err: "the role arn:aws-iso:iam::123456789012:role/r is in the aws-iso partition, which has no default STS region here",
			hints: []string{
				"pass --region on the credential_process line (the AWS CLI and SDKs do not pass a profile's region to a credential process)",
				"the regions of aws-iso: us-iso-east-1, us-iso-west-1",
			}},
		{role: isoF, flag: "us-isof-south-1", want: "us-isof-south-1", source: RegionFromFlag},

		// A region of another partition than the role's.
		{role: cn, awsRegion: "us-east-1",
			err:   "region us-east-1 (AWS_REGION) is in the aws partition, but the role arn:aws-cn:iam::123456789012:role/r is in aws-cn: STS there cannot assume it",
			hints: []string{"pass a region of the role's partition, such as --region cn-north-1"}},
		{role: aws, flag: "us-gov-west-1",
			err:   "region us-gov-west-1 (--region) is in the aws-us-gov partition, but the role arn:aws:iam::123456789012:role/r is in aws: STS there cannot assume it",
			hints: []string{"pass a region of the role's partition, such as --region us-east-1"}},
		{role: iso, flag: "us-east-1",
			err:   "region us-east-1 (--region) is in the aws partition, but the role arn:aws-iso:iam::123456789012:role/r is in aws-iso: STS there cannot assume it",
			hints: []string{"pass a region of the role's partition with --region"}},
		// With an endpoint override the region does not pick the host, so
		// it is not second-guessed.
		{role: cn, flag: "us-east-1", endpoint: vpce, want: "us-east-1", source: RegionFromFlag},
		// A region name of no known partition is left to STS.
		{role: aws, flag: "xx-new-1", want: "xx-new-1", source: RegionFromFlag},
	} {
		t.Setenv("AWS_REGION", tc.awsRegion)
		t.Setenv("AWS_DEFAULT_REGION", tc.awsDefault)
		t.Setenv("AWS_ENDPOINT_URL_STS", "")
		t.Setenv("AWS_ENDPOINT_URL", "")
		o := Options{Role: tc.role, Region: tc.flag, STSEndpoint: tc.endpoint}
		region, source, err := o.STSRegion()
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%+v: error %v, want %q", tc, err, tc.err)
			} else if got := explain.Hints(err); strings.Join(got, "\n") != strings.Join(tc.hints, "\n") {
				t.Errorf("%+v: hints %q, want %q", tc, got, tc.hints)
			}
			continue
		}
		if err != nil || region != tc.want || source != tc.source {
			t.Errorf("%+v: STSRegion() = %q, %q, %v; want %q, %q", tc, region, source, err, tc.want, tc.source)
		}
	}
}

func TestRegionSourceDescribe(t *testing.T) {
	for _, tc := range []struct {
		source RegionSource
		role   string
		want   string
	}{
		{RegionFromFlag, "", "from --region"},
		{RegionFromAWSRegion, "", "from AWS_REGION"},
		{RegionFromAWSDefaultRegion, "", "from AWS_DEFAULT_REGION"},
		{RegionDefault, "", "the default: no --region, AWS_REGION or AWS_DEFAULT_REGION"},
		{RegionFromPartition, "arn:aws-cn:iam::123456789012:role/r", "the default for the role's partition, aws-cn: no --region, AWS_REGION or AWS_DEFAULT_REGION"},
	} {
		if got := tc.source.Describe(tc.role); got != tc.want {
			t.Errorf("%s.Describe() = %q, want %q", tc.source, got, tc.want)
		}
	}
}

// TestPartitionEndpoint: with no region given, the endpoint is STS's own in
// the role's partition, never us-east-1 for a China or GovCloud role.
func TestPartitionEndpoint(t *testing.T) {
	for _, env := range []string{"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL"} {
		t.Setenv(env, "")
	}
	for _, tc := range []struct{ role, want string }{
		{"arn:aws:iam::123456789012:role/r", "https://sts.us-east-1.amazonaws.com"},
		{"arn:aws-cn:iam::123456789012:role/r", "https://sts.cn-north-1.amazonaws.com.cn"},
		{"arn:aws-us-gov:iam::123456789012:role/r", "https://sts.us-gov-west-1.amazonaws.com"},
	} {
		o := Options{Role: tc.role}
		c, err := sts.New(o.STSConfig())
		if err != nil {
			t.Fatal(err)
		}
		if c.Endpoint != tc.want {
			t.Errorf("role %s: endpoint %s, want %s", tc.role, c.Endpoint, tc.want)
		}
	}
}

// TestKnownRegionsMatchSDK: knownRegions is the SDK's partition table, so
// doctor's warning never drifts from the SDK in go.mod.
func TestKnownRegionsMatchSDK(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/aws/aws-sdk-go-v2").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "internal", "endpoints", "awsrulesfn", "partitions.json"))
	if err != nil {
		t.Skipf("the SDK's partition table: %v", err)
	}
	var table struct {
		Partitions []struct {
			Regions map[string]json.RawMessage `json:"regions"`
		} `json:"partitions"`
	}
	if err := json.Unmarshal(b, &table); err != nil {
		t.Fatal(err)
	}
	var sdk []string
	for _, p := range table.Partitions {
		for r := range p.Regions {
			if !strings.HasSuffix(r, "-global") {
				sdk = append(sdk, r)
			}
		}
	}
	if diff := cmp.Diff(slices.Sorted(slices.Values(sdk)), slices.Sorted(slices.Values(knownRegions))); diff != "" {
		t.Errorf("knownRegions differ from the SDK's partitions.json (-sdk +ours):\n%s", diff)
	}
}

func TestUnknownRegion(t *testing.T) {
	for region, want := range map[string]string{
		"us-east-1":      "",
		"cn-northwest-1": "",
		"":               "",
		"us-east-11":     "region us-east-11 is not in this build's list of AWS regions; did you mean us-east-1? (a region newer than this build is fine: it is used as given)",
		"eu-wst-1":       "region eu-wst-1 is not in this build's list of AWS regions; did you mean eu-west-1? (a region newer than this build is fine: it is used as given)",
		"us-gov-wset-1":  "region us-gov-wset-1 is not in this build's list of AWS regions; did you mean us-gov-west-1? (a region newer than this build is fine: it is used as given)",
		"mars-north-1":   "region mars-north-1 is not in this build's list of AWS regions (a region newer than this build is fine: it is used as given)",
	} {
		if got := UnknownRegion(region); got != want {
			t.Errorf("UnknownRegion(%q) = %q, want %q", region, got, want)
		}
	}
}
