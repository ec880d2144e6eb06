package schemas

import "testing"

func TestPromptTestsPurposeAndOlderPrompts(t *testing.T) {
	c, err := NewCodecs()
	if err != nil {
		t.Fatal(err)
	}
	p := Prompt{RequestID: "r1", ProblemID: "HumanEval/0", Purpose: PurposeTests, N: 100, Temperature: 0.8, TopP: 0.95, MaxTokens: 300, Model: "m"}
	b, err := c.Prompt.Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.Prompt.Decode(b); err != nil || got != p {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	v1, err := NewCodec(SchemaText("prompt_v1"), promptToNative, promptFromNative)
	if err != nil {
		t.Fatal(err)
	}
	p.Purpose = PurposeEval
	b, err = v1.Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.Prompt.Decode(b); err != nil || got != p {
		t.Fatalf("a prompt written before the tests purpose: %+v, %v", got, err)
	}
}
