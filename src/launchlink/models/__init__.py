"""ORM tables, one module per domain; importing this package registers them all."""

from launchlink.models.accounts import (
    ApiKey,
    AuditEntry,
    Invitation,
    Membership,
    User,
    UserSession,
    Workspace,
)
from launchlink.models.analytics import (
    AnalyticsEvent,
    AnalyticsReturn,
    AnalyticsRollup,
    AnalyticsSalt,
    AnalyticsShape,
    AnalyticsVisitor,
)
from launchlink.models.catalog import Artist, Release, ReleaseArtist, Track
from launchlink.models.design import LinkDesign
from launchlink.models.fulfilment import (
    FulfilmentAction,
    FulfilmentJob,
    ReleaseResolution,
    ServiceLimiterState,
)
from launchlink.models.links import (
    CustomDomain,
    CustomDomainClaim,
    Destination,
    Link,
    LinkChange,
)
from launchlink.models.messaging import (
    Announcement,
    Message,
    MessageStatus,
    MessageTemplate,
    QuietHoursRule,
    WorkspaceMessaging,
)
from launchlink.models.outbox import OutboxDelivery, OutboxEvent, OutboxSubscription
from launchlink.models.presave import (
    Campaign,
    ConsentRecord,
    ConsentText,
    Fan,
    MagicLink,
    OAuthAttempt,
    Presave,
    PresaveEvent,
    ServiceGrant,
    WorkspaceServiceMode,
)
from launchlink.models.webhooks import ServiceCredential, WebhookAttempt, WebhookEndpoint

__all__ = [
    "AnalyticsEvent",
    "AnalyticsReturn",
    "AnalyticsRollup",
    "AnalyticsSalt",
    "AnalyticsShape",
    "AnalyticsVisitor",
    "Announcement",
    "ApiKey",
    "Artist",
    "AuditEntry",
    "Campaign",
    "ConsentRecord",
    "ConsentText",
    "CustomDomain",
    "CustomDomainClaim",
    "Destination",
    "Fan",
    "FulfilmentAction",
    "FulfilmentJob",
    "Invitation",
    "Link",
    "LinkChange",
    "LinkDesign",
    "MagicLink",
    "Membership",
    "Message",
    "MessageStatus",
    "MessageTemplate",
    "OAuthAttempt",
    "OutboxDelivery",
    "OutboxEvent",
    "OutboxSubscription",
    "Presave",
    "PresaveEvent",
    "QuietHoursRule",
    "Release",
    "ReleaseArtist",
    "ReleaseResolution",
    "ServiceCredential",
    "ServiceGrant",
    "ServiceLimiterState",
    "Track",
    "User",
    "UserSession",
    "WebhookAttempt",
    "WebhookEndpoint",
    "Workspace",
    "WorkspaceMessaging",
    "WorkspaceServiceMode",
]
