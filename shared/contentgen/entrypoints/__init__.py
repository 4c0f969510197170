"""Entry adapters: the Lambda handlers' API Gateway proxy, SQS and EventBridge sides."""
