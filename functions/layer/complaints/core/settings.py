"""Settings for every function, read from the environment once per cold start by the handlers.

Domain code receives a Settings object; it never reads os.environ itself: the handlers pass it to
`Settings.from_environment`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, validate_default=True)

    table_name: str = Field(description="The single DynamoDB table")
    state_machine_arn: str = Field(default="", description="The case state machine (intake and reconciler)")
    sender_email: str = Field(default="complaints@example.com", description="SES identity mail comes from")
    ops_email: str = Field(default="ops@example.com", description="Where ops alerts go")
    public_base_url: str = Field(
        default="",
        description="The API's URL for links in emails when it has a custom domain; empty: the URL the "
        "complaint came in at (stored on the case)",
    )
    api_url: str = Field(
        default="",
        description="The API's URL with its stage: where links about a case that did not come in through the "
        "API (an email) point, unless public_base_url is set",
    )
    inbound_bucket: str = Field(default="", description="Where SES stores the emails it receives")
    inbound_prefix: str = Field(default="", description="The receipt rule's object key prefix")
    attachments_bucket: str = Field(default="", description="Where the files complainants send are kept")
    max_upload_bytes: int = Field(default=10 * 1024 * 1024, gt=0, description="The largest file taken")
    ledger_table: str = Field(default="", description="The local payment ledger (the ledger adapter's table)")
    link_secret_arn: str = Field(default="", description="Secrets Manager secret that signs task links")
    time_scale: float = Field(
        default=1.0, gt=0, description="Policy seconds per real second (1 in the cloud; 3600 under make run)"
    )
    local_mailbox_url: str = Field(
        default="",
        description="The embedded stack's mailbox page, linked from the ops console; set only by the "
        "embedded stack (empty on AWS, where there is no mailbox)",
    )
    max_body_bytes: int = 64 * 1024

    @classmethod
    def from_environment(cls, environ: Mapping[str, str], **given: Any) -> Settings:
        """Each field from the variable of its name in any case (TABLE_NAME, table_name; of two, the later
        in `environ`), a field in `given` from there instead; other variables are ignored. As
        pydantic-settings read them, without loading it at every cold start."""
        found = {name.lower(): value for name, value in environ.items()}
        values: dict[str, Any] = {name: found[name] for name in cls.model_fields if name in found}
        return cls(**{**values, **given})

    def links_base(self, case_base_url: str | None) -> str:
        """Where links about a case point: the configured URL, else the one the case came in at."""
        return self.public_base_url or case_base_url or ""
