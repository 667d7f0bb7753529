package cred

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/explain"
)

// RegionSource says where the STS region came from, for doctor. The values
// are stable: doctor --json prints them.
type RegionSource string

// Where a region can come from, in the order they are looked at.
const (
	RegionFromFlag             RegionSource = "flag"
	RegionFromAWSRegion        RegionSource = "AWS_REGION"
	RegionFromAWSDefaultRegion RegionSource = "AWS_DEFAULT_REGION"
	RegionDefault              RegionSource = "default"   // us-east-1, for a role in aws or none
	RegionFromPartition        RegionSource = "partition" // another partition's: STS in us-east-1 cannot assume its roles
)

// Describe says where the region came from, for people.
func (s RegionSource) Describe(role string) string {
	switch s {
	case RegionFromFlag:
		return "from --region"
	case RegionFromAWSRegion, RegionFromAWSDefaultRegion:
		return "from " + string(s)
	case RegionFromPartition:
		return fmt.Sprintf("the default for the role's partition, %s: no --region, AWS_REGION or AWS_DEFAULT_REGION", Partition(role))
	}
	return "the default: no --region, AWS_REGION or AWS_DEFAULT_REGION"
}

// partitionDefaults are the regions used for a role's partition when no
// region is given: that of the partition's original STS endpoint, or its
// only region. The isolated partitions are left out on purpose: which of
// their regions a workload can reach is not something to guess.
var partitionDefaults = map[string]string{
	"aws":        "us-east-1",
	"aws-cn":     "cn-north-1",
	"aws-us-gov": "us-gov-west-1",
	"aws-eusc":   "eusc-de-east-1",
}

// regionPartition is the partition a region name belongs to, by the name
// patterns of the SDK's partitions.json, or "" for a name it does not know.
// The longer prefixes come first: us-gov- and us-iso- are not aws.
func regionPartition(region string) string {
	for _, p := range []struct{ prefix, partition string }{
		{"us-gov-", "aws-us-gov"}, {"us-isob-", "aws-iso-b"}, {"us-isof-", "aws-iso-f"}, {"us-iso-", "aws-iso"},
		{"eu-isoe-", "aws-iso-e"}, {"eusc-", "aws-eusc"}, {"cn-", "aws-cn"},
		{"us-", "aws"}, {"eu-", "aws"}, {"ap-", "aws"}, {"sa-", "aws"}, {"ca-", "aws"},
		{"me-", "aws"}, {"af-", "aws"}, {"il-", "aws"}, {"mx-", "aws"},
	} {
		if strings.HasPrefix(region, p.prefix) {
			return p.partition
		}
	}
	return ""
}

// Partition is the partition of an ARN ("aws", "aws-cn", …), or "" for a
// value that is not one.
func Partition(s string) string {
	a, err := arn.Parse(s)
	if err != nil {
		return ""
	}
	return a.Partition
}

// STSRegion is the region of the STS endpoint and where it came from:
// --region, else AWS_REGION, else AWS_DEFAULT_REGION, else the default of
// the role's partition. A region in another partition than the role's is
// refused when the endpoint is STS's own: STS there cannot assume the role,
// and the error it would give names neither.
func (o *Options) STSRegion() (string, RegionSource, error) {
	region, source := o.Region, RegionFromFlag
	for _, env := range []RegionSource{RegionFromAWSRegion, RegionFromAWSDefaultRegion} {
		if region != "" {
			break
		}
		region, source = os.Getenv(string(env)), env
	}
	partition := Partition(o.Role)
	if region == "" {
		if partition == "" || partition == "aws" {
			return partitionDefaults["aws"], RegionDefault, nil
		}
		if r, ok := partitionDefaults[partition]; ok {
			return r, RegionFromPartition, nil
		}
		e := explain.Errorf(nil, "the role %s is in the %s partition, which has no default STS region here", o.Role, partition).
			Hint("pass --region on the credential_process line (the AWS CLI and SDKs do not pass a profile's region to a credential process)")
		var regions []string
		for _, r := range knownRegions {
			if regionPartition(r) == partition {
				regions = append(regions, r)
			}
		}
		if regions != nil {
			e.Hint("the regions of " + partition + ": " + strings.Join(regions, ", "))
		}
		return "", "", e
	}
	endpoint, _ := o.Endpoint()
	if rp := regionPartition(region); rp != "" && partition != "" && rp != partition && endpoint == "" {
		hint := "pass a region of the role's partition with --region"
		if r, ok := partitionDefaults[partition]; ok {
			hint = fmt.Sprintf("pass a region of the role's partition, such as --region %s", r)
		}
		return "", "", explain.Errorf(nil, "region %s (%s) is in the %s partition, but the role %s is in %s: STS there cannot assume it",
			region, strings.TrimPrefix(source.Describe(o.Role), "from "), rp, o.Role, partition).Hint(hint)
	}
	return region, source, nil
}

// knownRegions are the regions of the AWS SDK's partitions.json (internal
// to the SDK), without the *-global pseudo-regions; TestKnownRegionsMatchSDK
// fails when the SDK in go.mod lists others.
var knownRegions = []string{
	"af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
	"ap-south-1", "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4",
	"ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "ca-central-1", "ca-west-1", "eu-central-1",
	"eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-2", "eu-west-3",
	"il-central-1", "me-central-1", "me-south-1", "me-west-1", "mx-central-1", "sa-east-1", "sa-west-1",
	"us-east-1", "us-east-2", "us-west-1", "us-west-2",
	"cn-north-1", "cn-northwest-1",
	"eusc-de-east-1",
	"us-iso-east-1", "us-iso-west-1",
	"us-isob-east-1", "us-isob-west-1",
	"eu-isoe-west-1",
	"us-isof-east-1", "us-isof-south-1",
	"us-gov-east-1", "us-gov-west-1",
}

// UnknownRegion warns, for doctor, when region is not in the SDK's
// partition table, naming the nearest that is: a typo sends the exchange to
// an STS host that does not exist. Only a warning: a region must work the
// day it opens, before the SDK here knows it. It is "" for a known region.
func UnknownRegion(region string) string {
	if region == "" || slices.Contains(knownRegions, region) {
		return ""
	}
	msg := fmt.Sprintf("region %s is not in this build's list of AWS regions", region)
	if best := Nearest(region, knownRegions, 4); best != "" {
		msg += fmt.Sprintf("; did you mean %s?", best)
	}
	return msg + " (a region newer than this build is fine: it is used as given)"
}

// Nearest is what a mistyped word most likely meant: the first of names
// nearest to it in edits (Levenshtein distance, in bytes), if fewer than
// within; else "".
func Nearest(word string, names []string, within int) string {
	best := ""
	for _, name := range names {
		if d := editDistance(word, name); d < within {
			best, within = name, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
