"""The embedded local stack (`make run`): everything of template.yaml on one laptop, no AWS account."""
