"""The option table: every option occ understands, in every group.

This table is the single source for INI keys, ``OS_<GROUP>__<KEY>`` environment names, CLI
flags, types, defaults and help texts. ``occ.config.loader`` reads values through it and
``occ.cli.dispatch`` builds the argument parser from it. Spellings and defaults follow the
original os-collect-config so that existing configuration files and command lines keep working;
options marked "occ:" are new."""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs an idle pass its start-up time again (occ.records)
if TYPE_CHECKING:
    from typing import NamedTuple, Union

    Value = Union[str, float, int, bool, tuple[str, ...], None]
else:
    from occ.records import NamedTuple

    Value = object  # a name for annotations only

# Kinds of values. URIs need a scheme and a host; paths and strings are taken verbatim.
STR, URI, PATH, FLOAT, INT, BOOL, CHOICE = "str", "uri", "path", "float", "int", "bool", "choice"

DEFAULT_COLLECTORS = ("heat_local", "ec2", "cfn", "heat", "request", "local", "zaqar")


class Opt(NamedTuple):
    name: str  # INI key, always lower-case with underscores
    kind: str
    default: Value = None
    help: str = ""
    multi: bool = False  # repeated keys accumulate instead of overriding
    secret: bool = False  # never logged, never shown
    flag: str | None = None  # CLI spelling when it is not the dashed form of the name
    short: str | None = None
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    cli: bool = True  # False: INI/environment only (positional collectors)
    # Larger values are clamped to this with a WARNING, never refused (the original took them).
    maximum: float | None = None

    def flag_name(self, group: str) -> str:
        """Return the long CLI flag without ``--`` (``heat-auth-url``, ``heat_local-path``)."""
        stem = self.flag or self.name.replace("_", "-")
        return stem if group == "DEFAULT" else f"{group}-{stem}"


DEFAULT_GROUP = "DEFAULT"

# Documented limits (doc/guarantees.rst). A week between passes or for a hook is already more
# than any deployment wants; beyond about 1e9 s, sleeps, select() and timers overflow.
WEEK_SECONDS = 7 * 24 * 3600.0
DAY_SECONDS = 24 * 3600.0
HOUR_SECONDS = 3600.0
MAX_RESPONSE_BYTES = 1024**3

GENERAL = (
    Opt(
        "command",
        STR,
        short="-c",
        help="Shell command run after a pass that found changes, with OS_CONFIG_FILES set. "
        "Without it os-collect-config only prints what it collected.",
    ),
    Opt(
        "cachedir",
        PATH,
        "/var/lib/os-collect-config",
        help="Directory for cached metadata (<key>.json, .orig, .last).",
    ),
    Opt(
        "backup_cachedir",
        PATH,
        "/var/run/os-collect-config",
        help="Directory that receives a full copy of the cache after every change.",
    ),
    Opt(
        "collectors",
        STR,
        DEFAULT_COLLECTORS,
        multi=True,
        cli=False,
        help="Collectors to run, in this order; in a file, one name per line.",
    ),
    Opt("one_time", BOOL, False, help="Run one pass, then exit."),
    Opt("force", BOOL, False, help="Run the command even if nothing changed. Implies --one-time."),
    Opt(
        "print_only",
        BOOL,
        False,
        flag="print",
        help="Print the collected metadata as JSON and exit; never runs the command.",
    ),
    Opt("print_cachedir", BOOL, False, help="Print the cache directory and exit."),
    Opt(
        "min_polling_interval",
        FLOAT,
        1.0,
        minimum=0,
        maximum=WEEK_SECONDS,
        help="Continuous mode: seconds of the first sleep; doubled after every pass.",
    ),
    Opt(
        "polling_interval",
        FLOAT,
        30.0,
        short="-i",
        minimum=0,
        maximum=WEEK_SECONDS,
        help="Continuous mode: maximum seconds between passes. The systemd timer follows it.",
    ),
    Opt(
        "splay",
        FLOAT,
        0.0,
        minimum=0,
        maximum=WEEK_SECONDS,
        help="Continuous mode: random delay of up to this many seconds before the first pass.",
    ),
    Opt(
        "deployment_key",
        STR,
        ("deployments",),
        multi=True,
        help="Top-level key whose list of deployments heat, request and zaqar split into "
        "separate outputs. Repeatable.",
    ),
    Opt(
        "hook_env_file",
        PATH,
        "/run/os-collect-config-pass/hook.env",
        help="occ: where 'collect' writes OS_CONFIG_FILES for the hook unit "
        "(systemd EnvironmentFile= syntax).",
    ),
    Opt(
        "status_file",
        PATH,
        "/run/os-collect-config-status/status.json",
        help="occ: where each pass records what it found, for 'os-collect-config --status' "
        "(world-readable, secrets redacted; on tmpfs, rewritten without fsync).",
    ),
    Opt(
        "metrics_file",
        PATH,
        "",
        help="occ: a Prometheus textfile-collector file written after each pass (last pass, "
        "sources up, changes, hook runs and failures, pending); empty means none.",
    ),
    Opt(
        "hook_timeout",
        FLOAT,
        0.0,
        minimum=0,
        maximum=WEEK_SECONDS,
        help="occ: seconds after which a running hook is stopped; 0 means no limit.",
    ),
    Opt(
        "hook_retry_limit",
        INT,
        20,
        minimum=0,
        help="occ: automatic passes stop retrying a failing hook on unchanged data after this "
        "many attempts; 0 means no limit.",
    ),
    Opt(
        "hook_retry_max_delay",
        FLOAT,
        600.0,
        minimum=0,
        maximum=WEEK_SECONDS,
        help="occ: cap, in seconds, of the back-off between automatic retries of a failing hook.",
    ),
    Opt(
        "pass_timeout",
        FLOAT,
        240.0,
        minimum=1,
        maximum=DAY_SECONDS,
        help="occ: seconds one pass may spend talking to metadata sources before the remaining "
        "sources count as unavailable.",
    ),
    Opt(
        "max_response_size",
        INT,
        4 * 1024 * 1024,
        minimum=1024,
        maximum=MAX_RESPONSE_BYTES,
        help="occ: largest accepted HTTP response body, in bytes.",
    ),
)

LOGGING = (
    Opt("debug", BOOL, False, short="-d", help="Log every step of a pass (DEBUG level)."),
    Opt(
        "verbose",
        BOOL,
        False,
        help="Accepted for compatibility; INFO is already the default level.",
    ),
    Opt(
        "log_file",
        PATH,
        flag="log-file",
        help="Also write log records to this file (created 0600).",
    ),
    Opt("log_dir", PATH, flag="log-dir", help="Base directory for a relative --log-file."),
    Opt(
        "log_config_append",
        PATH,
        help="Python logging configuration file; when given, the other logging options are "
        "ignored.",
    ),
    Opt("log_date_format", STR, "%Y-%m-%d %H:%M:%S", help="strftime format of log timestamps."),
    Opt(
        "use_journal",
        BOOL,
        False,
        help="Log to journald with structured fields (automatic under systemd).",
    ),
    Opt("use_syslog", BOOL, False, help="Log to syslog (/dev/log)."),
    Opt("syslog_log_facility", STR, "LOG_USER", help="Syslog facility, e.g. LOG_USER, LOG_LOCAL0."),
    Opt("use_json", BOOL, False, help="Write one JSON object per log record."),
)


def request_timeout(help_text: str = "Seconds per request.") -> Opt:
    """Return the ``timeout`` option every network source has (seconds per request)."""
    return Opt("timeout", FLOAT, 10.0, minimum=0, maximum=HOUR_SECONDS, help=help_text)


# The Keystone login that heat and zaqar each take in their own section, as the original does.
KEYSTONE_LOGIN = (
    Opt("auth_url", URI, help="Keystone URL."),
    Opt("user_id", STR, help="User ID."),
    Opt("password", STR, secret=True, help="Password."),
    Opt("project_id", STR, help="Project ID."),
)

GROUPS = {
    "ec2": (
        Opt(
            "metadata_url",
            URI,
            "http://169.254.169.254/latest/meta-data",
            help="Root of the EC2 metadata tree.",
        ),
        request_timeout(),
        Opt(
            "imdsv2",
            CHOICE,
            "auto",
            choices=("auto", "required", "off"),
            help="occ: IMDSv2 session tokens: auto (fall back to v1), required, or off.",
        ),
        Opt(
            "refresh",
            BOOL,
            False,
            help="occ: fetch on every pass instead of reusing a cached ec2.json.",
        ),
        Opt(
            "config_drive",
            BOOL,
            True,
            help="occ: look for a config-2 configuration drive before asking the network.",
        ),
    ),
    "cfn": (
        Opt(
            "metadata_url", URI, help="CloudFormation-compatible API base, e.g. http://h:8000/v1/."
        ),
        Opt(
            "heat_metadata_hint",
            PATH,
            "/var/lib/heat-cfntools/cfn-metadata-server",
            help="File holding the API base URL; used when metadata_url is unset.",
        ),
        Opt(
            "ca_certificate",
            PATH,
            flag="ca_certificate",
            help="CA bundle for TLS; unset means the system CAs.",
        ),
        Opt("stack_name", STR, help="Stack to describe."),
        Opt("path", STR, multi=True, help="Resource.Field[.key...] to read. Repeatable."),
        Opt("access_key_id", STR, help="Access key id for request signing."),
        Opt("secret_access_key", STR, secret=True, help="Secret key for request signing."),
        Opt(
            "deployment_key",
            STR,
            ("deployments",),
            multi=True,
            help="Top-level key whose deployments cfn splits into separate outputs.",
        ),
        request_timeout(),
    ),
    "heat_local": (
        Opt(
            "path",
            PATH,
            ("/var/lib/heat-cfntools/cfn-init-data",),
            multi=True,
            flag="path",
            help="JSON files to merge, in order. Repeatable.",
        ),
    ),
    "local": (
        Opt(
            "path",
            PATH,
            ("/var/lib/os-collect-config/local-data",),
            multi=True,
            help="Directories of JSON files. Repeatable.",
        ),
    ),
    "heat": (
        *KEYSTONE_LOGIN,
        Opt("stack_id", STR, help="Stack ID (name/uuid, or a bare name or id)."),
        Opt("resource_name", STR, help="Logical resource name."),
        Opt("region_name", STR, help="Region of the orchestration endpoint; empty means any."),
        Opt("ca_file", PATH, help="occ: CA bundle for Keystone and Heat; unset means system CAs."),
        request_timeout("occ: seconds per request."),
    ),
    "request": (
        Opt("metadata_url", URI, help="URL of a JSON document."),
        request_timeout(),
        Opt("ca_file", PATH, help="occ: CA bundle for TLS; unset means system CAs."),
    ),
    "zaqar": (
        *KEYSTONE_LOGIN,
        Opt("queue_id", STR, help="Queue ID."),
        Opt("region_name", STR, help="Region of the messaging endpoint; empty means any."),
        Opt("ca_file", PATH, help="CA bundle for TLS."),
        Opt("use_websockets", BOOL, False, help="Use the websocket transport."),
        Opt(
            "ssl_certificate_validation",
            BOOL,
            help="Verify TLS certificates. Unset means verify; only an explicit false disables it.",
        ),
        request_timeout("occ: seconds per request, and the longest websocket wait."),
    ),
    "keystone": (
        Opt(
            "cache_dir",
            PATH,
            flag="cache_dir",
            help="Directory for the Keystone token cache; unset means occ's state directory.",
        ),
        Opt(
            "cache_ttl",
            INT,
            1800,
            flag="cache_ttl",
            minimum=0,
            maximum=WEEK_SECONDS,
            help="Seconds a cached token is reused at most.",
        ),
    ),
}

# Every INI section occ reads, in help order.
SECTIONS = {DEFAULT_GROUP: GENERAL + LOGGING, **GROUPS}

# Spellings that the CLI accepts besides the canonical flag (oslo.config deprecated names).
FLAG_ALIASES = {
    "log-file": ("logfile",),
    "log-dir": ("logdir",),
    "log-config-append": ("log-config", "log_config"),
}

# oslo.log keys that old files may carry; accepted and ignored without a warning.
IGNORED_DEFAULT_KEYS = frozenset(
    {
        "default_log_levels",
        "use_stderr",
        "use_eventlog",
        "log_color",
        "logging_context_format_string",
        "logging_default_format_string",
        "logging_debug_format_suffix",
        "logging_exception_prefix",
        "logging_user_identity_format",
        "publish_errors",
        "fatal_deprecations",
        "instance_format",
        "instance_uuid_format",
        "rate_limit_interval",
        "rate_limit_burst",
        "rate_limit_except_level",
        "watch_log_file",
        "fatal_exception_format_errors",
        "config_file",
        "config_dir",
        "shell_completion",
    }
)


def find(group: str, name: str) -> Opt | None:
    """Return the option ``name`` of ``group``, or None."""
    for opt in SECTIONS.get(group, ()):
        if opt.name == name:
            return opt
    return None
