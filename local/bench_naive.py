"""The baseline for `make bench`: a naive handler that imports both SDKs, boto3 and Powertools and
builds every client (reading its key from SSM) at import time. Not used by contentgen itself."""

from __future__ import annotations

import json
import os
from typing import Any

import boto3
import openai
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from google import genai

logger = Logger()
metrics = Metrics(namespace="naive")
tracer = Tracer()
ssm = boto3.client("ssm")
KEY = ssm.get_parameter(Name=os.environ["OPENROUTER_API_KEY_PARAM"], WithDecryption=True)["Parameter"][
    "Value"
]
openai_client = openai.OpenAI(api_key=KEY, base_url=os.environ["OPENROUTER_BASE_URL"])
genai_client = genai.Client(api_key=KEY)
app = APIGatewayRestResolver()


@app.post("/stories/segments")
def story() -> dict[str, Any]:
    body = app.current_event.json_body
    count = int(body.get("segment_count", 6))
    schema = {
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "segments": {
                "type": "array",
                "minItems": count,
                "maxItems": count,
                "items": {
                    "type": "object",
                    "properties": {"text": {"type": "string"}, "visual_prompt": {"type": "string"}},
                    "required": ["text", "visual_prompt"],
                    "additionalProperties": False,
                },
            },
        },
        "required": ["title", "segments"],
        "additionalProperties": False,
    }
    completion = openai_client.chat.completions.create(
        model=os.environ["TEXT_MODEL"],  # the template's TextModel (the local runtime sets it)
        messages=[{"role": "user", "content": body["prompt"]}],
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "Story", "strict": True, "schema": schema},
        },
    )
    reply = json.loads(completion.choices[0].message.content or "{}")
    return {
        "segments": [dict(index=i, **s) for i, s in enumerate(reply["segments"], 1)],
        "title": reply["title"],
    }


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
