package bss

import "testing"

// The published example of Alibaba's RPC signature (its signature
// documentation; docs/bss.md, "Request checks and errors"): the GET
// signature is the documented one, the POST one was computed
// independently.
func TestSignatureVectors(t *testing.T) {
	params := map[string]string{
		"AccessKeyId":      "testid",
		"Action":           "DescribeRegions",
		"Format":           "XML",
		"SignatureMethod":  "HMAC-SHA1",
		"SignatureNonce":   "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
		"SignatureVersion": "1.0",
		"Timestamp":        "2016-02-23T12:46:24Z",
		"Version":          "2014-05-26",
	}
	const wantGET = "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3DHMAC-SHA1" +
		"%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0" +
		"%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26"
	if got := StringToSign("GET", params); got != wantGET {
		t.Errorf("StringToSign(GET) =\n%s\nwant\n%s", got, wantGET)
	}
	if got := Sign(StringToSign("GET", params), "testsecret"); got != "OLeaidS1JvxuMvnyHOwuJ+uX5qY=" {
		t.Errorf("GET signature = %s, want OLeaidS1JvxuMvnyHOwuJ+uX5qY=", got)
	}
	if got := Sign(StringToSign("POST", params), "testsecret"); got != "MxbnVAM4w6sft9xjVpe/GCKueuk=" {
		t.Errorf("POST signature = %s, want MxbnVAM4w6sft9xjVpe/GCKueuk=", got)
	}
	// Signature itself is never signed.
	params["Signature"] = "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
	if got := StringToSign("GET", params); got != wantGET {
		t.Errorf("StringToSign includes Signature: %s", got)
	}
}

func TestPercentEncode(t *testing.T) {
	for in, want := range map[string]string{
		"AZaz09-_.~": "AZaz09-_.~",
		"a b":        "a%20b",
		"a*b":        "a%2Ab",
		"a+b":        "a%2Bb",
		"a/b:c=d&e":  "a%2Fb%3Ac%3Dd%26e",
		"云":          "%E4%BA%91",
		"":           "",
	} {
		if got := PercentEncode(in); got != want {
			t.Errorf("PercentEncode(%q) = %q, want %q", in, got, want)
		}
	}
	// Empty values are kept (the SDK's SignatureType=), names sorted.
	got := Canonicalize(map[string]string{"b": "2", "SignatureType": "", "a": "x y"})
	if want := "SignatureType=&a=x%20y&b=2"; got != want {
		t.Errorf("Canonicalize = %q, want %q", got, want)
	}
}
