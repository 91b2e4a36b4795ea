"""Contains all the data models used in inputs/outputs"""

from .accepted import Accepted
from .agent_report_view import AgentReportView
from .appeal_request import AppealRequest
from .batch_accepted import BatchAccepted
from .batch_request import BatchRequest
from .cart_abandoned_request import CartAbandonedRequest
from .cart_abandoned_request_currency import CartAbandonedRequestCurrency
from .cart_item import CartItem
from .claim_review_lane import ClaimReviewLane
from .claimed import Claimed
from .claimed_lane import ClaimedLane
from .classifier_scores import ClassifierScores
from .code_review_view import CodeReviewView
from .code_review_view_status import CodeReviewViewStatus
from .consumed_topic import ConsumedTopic
from .content_accepted import ContentAccepted
from .content_item import ContentItem
from .content_item_status import ContentItemStatus
from .content_request import ContentRequest
from .content_request_country import ContentRequestCountry
from .content_view import ContentView
from .content_view_decision_type_0 import ContentViewDecisionType0
from .content_view_status import ContentViewStatus
from .dead_letter_count import DeadLetterCount
from .dead_letter_view import DeadLetterView
from .drill_catalogue import DrillCatalogue
from .drill_summary import DrillSummary
from .drill_summary_pipelines import DrillSummaryPipelines
from .echo_request import EchoRequest
from .echo_status import EchoStatus
from .echo_status_status import EchoStatusStatus
from .email_view import EmailView
from .email_view_stage_ms import EmailViewStageMs
from .email_view_status import EmailViewStatus
from .error_body import ErrorBody
from .event_accepted import EventAccepted
from .fault_summary import FaultSummary
from .field_problem import FieldProblem
from .finding import Finding
from .finding_agent import FindingAgent
from .finding_severity import FindingSeverity
from .get_drill_run_response_get_drill_run import GetDrillRunResponseGetDrillRun
from .github_webhook_body import GithubWebhookBody
from .github_webhook_body_repository import GithubWebhookBodyRepository
from .group_lag import GroupLag
from .image_accepted import ImageAccepted
from .image_accepted_status import ImageAcceptedStatus
from .image_job_view import ImageJobView
from .image_job_view_status import ImageJobViewStatus
from .image_params import ImageParams
from .image_request import ImageRequest
from .judge_verdict import JudgeVerdict
from .judge_verdict_decision import JudgeVerdictDecision
from .judge_verdict_severity import JudgeVerdictSeverity
from .moderation_decided import ModerationDecided
from .moderation_decided_decision import ModerationDecidedDecision
from .moderation_decided_tier import ModerationDecidedTier
from .part_health import PartHealth
from .part_health_checks import PartHealthChecks
from .queue_item import QueueItem
from .queue_item_evidence import QueueItemEvidence
from .queue_item_lane import QueueItemLane
from .replay_result import ReplayResult
from .review_decision import ReviewDecision
from .review_decision_decision import ReviewDecisionDecision
from .review_decision_lane import ReviewDecisionLane
from .review_queue_lane import ReviewQueueLane
from .rule_match import RuleMatch
from .rule_match_action_type_0 import RuleMatchActionType0
from .rule_match_severity import RuleMatchSeverity
from .run_started import RunStarted
from .run_summary import RunSummary
from .server_error import ServerError
from .system_status import SystemStatus
from .tenant_view import TenantView
from .tenant_view_role import TenantViewRole

__all__ = (
    "Accepted",
    "AgentReportView",
    "AppealRequest",
    "BatchAccepted",
    "BatchRequest",
    "CartAbandonedRequest",
    "CartAbandonedRequestCurrency",
    "CartItem",
    "Claimed",
    "ClaimedLane",
    "ClaimReviewLane",
    "ClassifierScores",
    "CodeReviewView",
    "CodeReviewViewStatus",
    "ConsumedTopic",
    "ContentAccepted",
    "ContentItem",
    "ContentItemStatus",
    "ContentRequest",
    "ContentRequestCountry",
    "ContentView",
    "ContentViewDecisionType0",
    "ContentViewStatus",
    "DeadLetterCount",
    "DeadLetterView",
    "DrillCatalogue",
    "DrillSummary",
    "DrillSummaryPipelines",
    "EchoRequest",
    "EchoStatus",
    "EchoStatusStatus",
    "EmailView",
    "EmailViewStageMs",
    "EmailViewStatus",
    "ErrorBody",
    "EventAccepted",
    "FaultSummary",
    "FieldProblem",
    "Finding",
    "FindingAgent",
    "FindingSeverity",
    "GetDrillRunResponseGetDrillRun",
    "GithubWebhookBody",
    "GithubWebhookBodyRepository",
    "GroupLag",
    "ImageAccepted",
    "ImageAcceptedStatus",
    "ImageJobView",
    "ImageJobViewStatus",
    "ImageParams",
    "ImageRequest",
    "JudgeVerdict",
    "JudgeVerdictDecision",
    "JudgeVerdictSeverity",
    "ModerationDecided",
    "ModerationDecidedDecision",
    "ModerationDecidedTier",
    "PartHealth",
    "PartHealthChecks",
    "QueueItem",
    "QueueItemEvidence",
    "QueueItemLane",
    "ReplayResult",
    "ReviewDecision",
    "ReviewDecisionDecision",
    "ReviewDecisionLane",
    "ReviewQueueLane",
    "RuleMatch",
    "RuleMatchActionType0",
    "RuleMatchSeverity",
    "RunStarted",
    "RunSummary",
    "ServerError",
    "SystemStatus",
    "TenantView",
    "TenantViewRole",
)
