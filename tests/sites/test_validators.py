"""Tests for sites.validators: pure functions, no database."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from sites.validators import (
    DNS_LABEL_MAX,
    ENV_VALUE_MAX_BYTES,
    MAX_REPLICAS,
    RESERVED_ENV_KEYS,
    ImageReference,
    describe_cron_schedule,
    namespace_name,
    next_cron_runs,
    normalise_hostname,
    parse_cpu,
    parse_image_reference,
    parse_memory,
    resolve_cron_schedule,
    validate_autoscale,
    validate_cpu,
    validate_cron_schedule,
    validate_dns_label,
    validate_env_key,
    validate_env_value,
    validate_hostname,
    validate_image_reference,
    validate_memory,
    validate_namespace_name,
    validate_replicas,
    validate_request_within_limit,
)

DIGEST = "sha256:" + "0123456789abcdef" * 4


def assert_invalid(func, value, code: str, fragment: str, **kwargs) -> ValidationError:
    """Call func(value) and check the error's code and that its message names `fragment`."""
    with pytest.raises(ValidationError) as excinfo:
        func(value, **kwargs)
    error = excinfo.value
    assert error.code == code, error.messages
    message = " ".join(error.messages)
    assert fragment.lower() in message.lower(), message
    return error


def dict_errors(excinfo: pytest.ExceptionInfo[ValidationError]) -> dict[str, list[str]]:
    return excinfo.value.message_dict


# --- DNS labels and namespaces --------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a", "a"),
        ("acme", "acme"),
        ("acme-corp", "acme-corp"),
        ("web2", "web2"),
        ("0", "0"),
        ("a" * DNS_LABEL_MAX, "a" * DNS_LABEL_MAX),
    ],
)
def test_dns_label_valid(value, expected):
    assert validate_dns_label(value) == expected


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("", "empty"),
        ("   ", "' '"),
        ("  staging ", "' '"),
        ("a" * 64, "64 characters"),
        ("Acme", "lowercase"),
        ("acme_corp", "'_'"),
        ("acme.corp", "'.'"),
        ("acme corp", "' '"),
        ("bücher", "'ü'"),
        ("-acme", "hyphen"),
        ("acme-", "hyphen"),
    ],
)
def test_dns_label_invalid(value, fragment):
    assert_invalid(validate_dns_label, value, "dns_label", fragment)


def test_dns_label_rejects_non_string():
    assert_invalid(validate_dns_label, None, "dns_label", "NoneType")


def test_namespace_name_joins_slugs():
    assert namespace_name("acme", "shop", "prod") == "acme-shop-prod"


def test_namespace_name_valid():
    assert validate_namespace_name("acme-shop-prod") == "acme-shop-prod"
    assert validate_namespace_name("a" * 63) == "a" * 63


def test_namespace_name_too_long_names_length_and_limit():
    value = namespace_name("a" * 30, "b" * 30, "prod")
    error = assert_invalid(validate_namespace_name, value, "namespace_too_long", "66")
    assert "63" in error.messages[0]


@pytest.mark.parametrize(
    ("value", "fragment"),
    [("Acme-shop-prod", "lowercase"), ("acme_shop-prod", "'_'"), ("-shop-prod", "hyphen")],
)
def test_namespace_name_invalid_label(value, fragment):
    assert_invalid(validate_namespace_name, value, "dns_label", fragment)


# --- Image references -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "registry", "repository", "tag", "digest"),
    [
        ("nginx:1.27", None, "nginx", "1.27", None),
        ("docker.io/library/nginx:1.27", "docker.io", "library/nginx", "1.27", None),
        (
            "registry.example.com:5000/acme/web:v1.2.3",
            "registry.example.com:5000",
            "acme/web",
            "v1.2.3",
            None,
        ),
        (f"ghcr.io/acme/web@{DIGEST}", "ghcr.io", "acme/web", None, DIGEST),
        ("localhost/web:dev", "localhost", "web", "dev", None),
        ("localhost:5000/web:dev", "localhost:5000", "web", "dev", None),
        ("[::1]:5000/web:x", "[::1]:5000", "web", "x", None),
        ("[2001:db8::1]/web:x", "[2001:db8::1]", "web", "x", None),
        ("192.168.1.10:5000/team/app:1", "192.168.1.10:5000", "team/app", "1", None),
        (f"ghcr.io/acme/web:v1@{DIGEST}", "ghcr.io", "acme/web", "v1", DIGEST),
        (f"nginx:1.27@{DIGEST}", None, "nginx", "1.27", DIGEST),
        ("acme/web:latest", None, "acme/web", "latest", None),
        ("a/b/c/d:1", None, "a/b/c/d", "1", None),
        ("my_app__x.y-z:1", None, "my_app__x.y-z", "1", None),
        ("a--b:1", None, "a--b", "1", None),
        ("web:V1_RC.2-x", None, "web", "V1_RC.2-x", None),
        ("web:_private", None, "web", "_private", None),
        ("web:" + "t" * 128, None, "web", "t" * 128, None),
        ("Registry.Example.com/web:1", "Registry.Example.com", "web", "1", None),
        ("web@sha512:" + "a" * 128, None, "web", None, "sha512:" + "a" * 128),
    ],
)
def test_image_reference_valid(value, registry, repository, tag, digest):
    ref = parse_image_reference(value)
    assert ref == ImageReference(registry=registry, repository=repository, tag=tag, digest=digest)
    assert str(ref) == value
    assert validate_image_reference(value) == value


def test_image_reference_name_and_stripping():
    ref = parse_image_reference("  registry.example.com:5000/acme/web:v1  ")
    assert ref.name == "registry.example.com:5000/acme/web"
    assert parse_image_reference("nginx:1").name == "nginx"
    # Surrounding whitespace is a copy-paste artefact, so it is stripped rather than rejected.
    assert validate_image_reference(" nginx:1\t") == "nginx:1"


@pytest.mark.parametrize(
    ("value", "code", "fragment"),
    [
        ("Nginx:1", "image_reference", "lowercase"),
        ("acme/Web:1", "image_reference", "lowercase"),
        ("nginx", "image_tag_required", "tag or digest is required"),
        ("ghcr.io/acme/web", "image_tag_required", ":latest"),
        ("nginx:", "image_tag", "empty"),
        ("nginx:-bad", "image_tag", "-bad"),
        ("nginx:.bad", "image_tag", ".bad"),
        ("nginx:a/b", "image_reference", "nginx:a"),
        ("web:" + "t" * 129, "image_tag", "129"),
        ("web@sha256:abc", "image_digest", "64"),
        ("web@sha256:" + "A" * 64, "image_digest", "lowercase"),
        ("web@sha256:" + "a" * 65, "image_digest", "got 65"),
        ("web@md5:" + "a" * 32, "image_digest", "md5"),
        ("web@", "image_digest", "empty"),
        ("web@" + "a" * 64, "image_digest", "sha256:"),
        (f"web@{DIGEST}@{DIGEST}", "image_reference", "more than one"),
        ("a//b:1", "image_reference", "empty path component"),
        ("/web:1", "image_reference", "empty path component"),
        ("web/:1", "image_reference", "empty path component"),
        ("ngi nx:1", "image_reference", "whitespace"),
        ("nginx:1 2", "image_reference", "whitespace"),
        ("", "image_reference", "empty"),
        (":1", "image_reference", "no repository"),
        ("web-:1", "image_reference", "web-"),
        ("_web:1", "image_reference", "_web"),
        ("a___b:1", "image_reference", "a___b"),
        ("bad_host.com/web:1", "image_reference", "bad_host.com"),
        ("-host.com/web:1", "image_reference", "-host.com"),
        ("host.com:port/web:1", "image_reference", "host.com:port"),
        ("[zz::1]:5000/web:1", "image_reference", "[zz::1]:5000"),
        ("a" * 256 + ":1", "image_reference", "256"),
        ("registry.example.com/" + "a" * 235 + ":1", "image_reference", "256"),
    ],
)
def test_image_reference_invalid(value, code, fragment):
    assert_invalid(parse_image_reference, value, code, fragment)
    assert_invalid(validate_image_reference, value, code, fragment)


def test_image_reference_name_at_limit_is_valid():
    name = "registry.example.com/" + "a" * 234
    assert len(name) == 255
    assert parse_image_reference(name + ":1").name == name


# --- Hostnames ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("example.com", "example.com"),
        ("WWW.Example.COM", "www.example.com"),
        ("  example.com  ", "example.com"),
        ("example.com.", "example.com"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("BÜCHER.example", "xn--bcher-kva.example"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("例え.テスト", "xn--r8jz45g.xn--zckzah"),
        ("a-b.c-d.example", "a-b.c-d.example"),
        ("1.example.com", "1.example.com"),
        ("123.com", "123.com"),
        ("a" * 63 + ".com", "a" * 63 + ".com"),
    ],
)
def test_hostname_valid(value, expected):
    assert validate_hostname(value) == expected


def test_normalise_hostname():
    assert normalise_hostname(" Bücher.Example. ") == "xn--bcher-kva.example"
    assert normalise_hostname("EXAMPLE.com") == "example.com"


def test_hostname_total_length():
    label = "a" * 63
    at_limit = ".".join([label, label, label, "a" * 61])
    assert len(at_limit) == 253
    assert validate_hostname(at_limit) == at_limit
    assert_invalid(validate_hostname, at_limit + "a", "hostname", "254")


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("https://example.com/x", "bare hostname"),
        ("http://example.com", "bare hostname"),
        ("example.com/path", "bare hostname"),
        ("example.com:8080", "bare hostname"),
        ("example.com:8080", ":8080"),
        ("*.example.com", "wildcard hostnames are not supported"),
        ("www.*.example.com", "wildcard hostnames are not supported"),
        ("1.2.3.4", "an IP address is not a hostname"),
        ("10.0.0.1.", "an IP address is not a hostname"),
        ("1.2.3.4:80", "an IP address is not a hostname"),
        ("::1", "an IP address is not a hostname"),
        ("[2001:db8::1]", "an IP address is not a hostname"),
        ("foo.123", "123"),
        ("localhost", "at least two labels"),
        ("com", "at least two labels"),
        ("", "empty"),
        (".", "empty"),
        ("example..com", "empty label"),
        (".example.com", "empty label"),
        ("-a.example.com", "hyphen"),
        ("a-.example.com", "hyphen"),
        ("a_b.example.com", "'_'"),
        ("exa mple.com", "whitespace"),
        ("a" * 64 + ".com", "64 characters"),
        ("xn--zz.example", "xn--zz.example"),
        ("ab--cd.example", "ab--cd.example"),
    ],
)
def test_hostname_invalid(value, fragment):
    assert_invalid(validate_hostname, value, "hostname", fragment)


# --- Cron -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0 3 * * *", "0 3 * * *"),
        ("  */15   * * * 1-5 ", "*/15 * * * 1-5"),
        ("0 0 1,15 * *", "0 0 1,15 * *"),
        ("0 0 * jan-mar mon-fri", "0 0 * jan-mar mon-fri"),
        ("0 0 * * THU", "0 0 * * THU"),
        ("0 0 ? * 1", "0 0 ? * 1"),
        ("5-10/2 * * * *", "5-10/2 * * * *"),
        ("0 0 29 2 *", "0 0 29 2 *"),
        ("@hourly", "0 * * * *"),
        ("@daily", "0 0 * * *"),
        ("@midnight", "0 0 * * *"),
        ("@weekly", "0 0 * * 0"),
        ("@monthly", "0 0 1 * *"),
        ("@yearly", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
        ("@DAILY", "0 0 * * *"),
    ],
)
def test_cron_resolve_plain(value, expected):
    assert resolve_cron_schedule(value, seed="env-1") == expected


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("0 25 * * *", "hour: 25 is out of range 0-23"),
        ("60 * * * *", "minute: 60 is out of range 0-59"),
        ("0 0 0 * *", "day-of-month: 0 is out of range 1-31"),
        ("0 0 32 * *", "day-of-month: 32"),
        ("0 0 * 13 *", "month: 13 is out of range 1-12"),
        ("0 0 * * 8", "day-of-week: 8 is out of range 0-6"),
        # What the API server refuses for a CronJob (issue 15.2).
        ("0 3 * * 7", "day-of-week: 7 is out of range 0-6; Kubernetes counts Sunday as 0"),
        ("0 3 * * 1-7", "day-of-week: 7 is out of range 0-6"),
        ("0 0 L * *", 'day-of-month: "L" uses L (last day), which Kubernetes CronJobs'),
        ("0 0 15W * *", "W (nearest weekday)"),
        ("0 0 * * 5L", 'day-of-week: "5L" uses L (last day)'),
        ("0 0 * * 5#2", 'day-of-week: "5#2" uses # (nth weekday of the month)'),
        ("0 0 * foo *", "month"),
        ("0 0 * * 5#9", "day-of-week"),
        ("30-10 * * * *", "backwards"),
        ("*/0 * * * *", "minute: step 0"),
        ("*/61 * * * *", "minute: step 61"),
        ("0,,5 * * * *", "minute"),
        ("? * * * *", "minute"),
        ("0 0 31 2 *", "never runs"),
        ("0 0 0 * * *", "6 fields"),
        ("0 0 0 * * *", "seconds"),
        ("0 0 * * * * 2030", "7 fields"),
        ("0 0 * *", "4 fields"),
        ("daily", "1 field"),
        ("", "empty"),
        ("@reboot", "@reboot"),
        ("@every 5m", "@every 5m"),
        ("0 0 H * *", "day-of-month: H is only supported in the minute and hour fields"),
        ("0 0 * H *", "month: H"),
        ("0 0 * * H", "day-of-week: H"),
        ("H(50-70) * * * *", "minute: 70 is out of range 0-59"),
        ("H H(0-24) * * *", "hour: 24 is out of range 0-23"),
        ("H(5-2) * * * *", "backwards"),
        ("H/0 * * * *", "step 0"),
        ("H/61 * * * *", "step 61"),
        ("Hx * * * *", "Hx"),
        ("H(1-2 * * * *", "H(1-2"),
    ],
)
def test_cron_invalid(value, fragment):
    assert_invalid(resolve_cron_schedule, value, "cron_schedule", fragment, seed="s")
    assert_invalid(validate_cron_schedule, value, "cron_schedule", fragment)


def test_cron_h_is_deterministic():
    first = resolve_cron_schedule("H H * * *", seed="acme-shop-prod")
    assert first == resolve_cron_schedule("H H * * *", seed="acme-shop-prod")
    minute, hour, *rest = first.split()
    assert 0 <= int(minute) <= 59
    assert 0 <= int(hour) <= 23
    assert rest == ["*", "*", "*"]


def test_cron_h_spreads_across_seeds():
    minutes = {resolve_cron_schedule("H * * * *", seed=f"env-{i}").split()[0] for i in range(50)}
    hours = {resolve_cron_schedule("0 H * * *", seed=f"env-{i}").split()[1] for i in range(50)}
    assert len(minutes) >= 20
    assert len(hours) >= 10


def test_cron_h_uses_field_index_in_hash():
    # Minute and hour draw from different hashes, so they are not always equal mod 24.
    pairs = {tuple(resolve_cron_schedule("H H * * *", seed=f"s{i}").split()[:2]) for i in range(30)}
    assert any(int(m) % 24 != int(h) for m, h in pairs)


@pytest.mark.parametrize("seed", [f"seed-{i}" for i in range(25)])
def test_cron_h_range_within_bounds(seed):
    minute, hour, *_ = resolve_cron_schedule("H(10-20) H(2-5) * * *", seed=seed).split()
    assert 10 <= int(minute) <= 20
    assert 2 <= int(hour) <= 5


def test_cron_h_range_single_value():
    assert resolve_cron_schedule("H(7-7) * * * *", seed="x") == "7 * * * *"


@pytest.mark.parametrize("seed", [f"seed-{i}" for i in range(25)])
def test_cron_h_step(seed):
    minute = resolve_cron_schedule("H/15 * * * *", seed=seed).split()[0]
    values = [int(v) for v in minute.split(",")]
    assert len(values) == 4
    assert 0 <= values[0] < 15
    assert values == [values[0] + 15 * i for i in range(4)]


def test_cron_h_step_within_range():
    hour = resolve_cron_schedule("0 H(8-20)/4 * * *", seed="x").split()[1]
    values = [int(v) for v in hour.split(",")]
    assert 8 <= values[0] < 12
    assert all(8 <= v <= 20 for v in values)
    assert all(b - a == 4 for a, b in itertools.pairwise(values))


def test_cron_h_in_comma_list():
    minute = resolve_cron_schedule("H,30 * * * *", seed="x").split()[0]
    hashed, fixed = minute.split(",")
    assert 0 <= int(hashed) <= 59
    assert fixed == "30"


def test_cron_h_result_is_valid_for_every_seed():
    for i in range(100):
        resolved = resolve_cron_schedule("H/7 H(0-5) * * 1-5", seed=str(i))
        assert "H" not in resolved


def test_validate_cron_keeps_h_and_strips():
    assert validate_cron_schedule("  H   H(1-5) * * * ") == "H H(1-5) * * *"
    assert validate_cron_schedule("@daily") == "@daily"


def test_describe_cron():
    assert describe_cron_schedule("30 3 * * *") == "At 03:30"
    assert describe_cron_schedule("@weekly") == "At 00:00, only on Sunday"


def test_describe_cron_with_seed_uses_resolved_values():
    resolved = resolve_cron_schedule("H 3 * * *", seed="acme")
    minute = int(resolved.split()[0])
    assert describe_cron_schedule("H 3 * * *", seed="acme") == f"At 03:{minute:02d}"


def test_describe_cron_without_seed_marks_example():
    text = describe_cron_schedule("H H * * *")
    assert "example" in text
    assert "minute and hour marked H are chosen per environment" in text
    assert "marked H" not in describe_cron_schedule("0 3 * * *")


def test_describe_cron_invalid():
    assert_invalid(describe_cron_schedule, "0 25 * * *", "cron_schedule", "hour")


def test_next_cron_runs_utc():
    start = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
    runs = next_cron_runs("0 3 * * *", seed="x", count=3, start=start)
    assert runs == [datetime(2025, 1, d, 3, 0, tzinfo=UTC) for d in (2, 3, 4)]
    assert all(run.tzinfo is not None for run in runs)


def test_next_cron_runs_resolves_h():
    start = datetime(2025, 1, 1, tzinfo=UTC)
    minute = int(resolve_cron_schedule("H * * * *", seed="acme").split()[0])
    runs = next_cron_runs("H * * * *", seed="acme", count=2, start=start)
    assert [run.minute for run in runs] == [minute, minute]
    assert runs[1] - runs[0] == timedelta(hours=1)


def test_next_cron_runs_local_time_across_dst():
    amsterdam = ZoneInfo("Europe/Amsterdam")
    start = datetime(2025, 10, 25, 12, 0)  # naive: interpreted in tz
    runs = next_cron_runs("0 3 * * *", seed="x", count=2, start=start, tz="Europe/Amsterdam")
    assert [(r.day, r.hour) for r in runs] == [(26, 3), (27, 3)]
    assert runs[0].utcoffset() == timedelta(hours=1)
    assert all(r.tzinfo is not None for r in runs)
    assert runs[0] == datetime(2025, 10, 26, 3, 0, tzinfo=amsterdam)


def test_next_cron_runs_converts_aware_start():
    start = datetime(2025, 1, 1, 23, 30, tzinfo=UTC)  # 00:30 on 2 Jan in Amsterdam
    runs = next_cron_runs("0 1 * * *", seed="x", count=1, start=start, tz="Europe/Amsterdam")
    assert runs[0].isoformat() == "2025-01-02T01:00:00+01:00"


def test_next_cron_runs_defaults_to_now():
    runs = next_cron_runs("* * * * *", seed="x", count=2)
    now = datetime.now(UTC)
    assert now < runs[0] <= now + timedelta(minutes=1, seconds=1)


def test_next_cron_runs_bad_timezone():
    assert_invalid(
        next_cron_runs, "0 3 * * *", "timezone", "Mars/Olympus", seed="x", tz="Mars/Olympus"
    )


# --- CPU and memory -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "millicores"),
    [
        ("250m", 250),
        ("1", 1000),
        ("0.5", 500),
        ("1.5", 1500),
        ("2", 2000),
        ("1m", 1),
        ("0.001", 1),
        ("1.250", 1250),
        ("1000m", 1000),
        (" 100m ", 100),
    ],
)
def test_parse_cpu_valid(value, millicores):
    assert parse_cpu(value) == millicores


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("0", "greater than zero"),
        ("0m", "greater than zero"),
        ("0.0", "greater than zero"),
        ("-1", "negative"),
        ("-250m", "negative"),
        ("abc", "abc"),
        ("", "cpu quantity"),
        ("1.2345", "more precise than 1m"),
        ("0.0005", "more precise than 1m"),
        ("250.5m", "more precise than 1m"),
        ("1k", '"k"'),
        ("500M", '"M"'),
        ("1 core", "1 core"),
        ("1e3", "1e3"),
        ("+1", "+1"),
        (".5", ".5"),
        ("m", '"m"'),
    ],
)
def test_parse_cpu_invalid(value, fragment):
    assert_invalid(parse_cpu, value, "cpu_quantity", fragment)


def test_parse_cpu_rejects_non_string():
    assert_invalid(parse_cpu, 1, "cpu_quantity", "int")


@pytest.mark.parametrize(
    ("value", "canonical"),
    [
        ("250m", "250m"),
        ("1", "1"),
        ("0.5", "500m"),
        ("1.5", "1500m"),
        ("2", "2"),
        ("1000m", "1"),
        ("2000m", "2"),
        ("10m", "10m"),
        ("0.01", "10m"),
        ("64", "64"),
        ("64000m", "64"),
    ],
)
def test_validate_cpu_canonical(value, canonical):
    assert validate_cpu(value) == canonical


@pytest.mark.parametrize(
    ("value", "fragment"),
    [("9m", "10m"), ("0.005", "10m"), ("65", "64 cores"), ("64001m", "64 cores"), ("x", "x")],
)
def test_validate_cpu_bounds(value, fragment):
    assert_invalid(validate_cpu, value, "cpu_quantity", fragment)


@pytest.mark.parametrize(
    ("value", "size"),
    [
        ("134217728", 134217728),
        ("1Ki", 1024),
        ("512Mi", 512 * 2**20),
        ("1Gi", 2**30),
        ("1Ti", 2**40),
        ("1k", 1000),
        ("128M", 128_000_000),
        ("1G", 10**9),
        ("1T", 10**12),
        ("1.5Gi", 3 * 2**29),
        ("0.5Mi", 2**19),
        ("1.5k", 1500),
        (" 256Mi ", 256 * 2**20),
    ],
)
def test_parse_memory_valid(value, size):
    assert parse_memory(value) == size


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("512MB", "MB"),
        ("512MB", "M or Mi"),
        ("1gb", "gb"),
        ("1gb", "G or Gi"),
        ("1GiB", "Gi"),
        ("1gi", "Gi"),
        ("1K", '"K"'),
        ("128m", "thousandths of a byte"),
        ("1Pi", '"Pi"'),
        ("-1", "negative"),
        ("-1Gi", "negative"),
        ("0", "greater than zero"),
        ("0Mi", "greater than zero"),
        ("abc", "abc"),
        ("", "memory quantity"),
        ("1.5", "whole number of bytes"),
        ("1.0001k", "whole number of bytes"),
        ("1e3", "1e3"),
        ("1 Gi", "1 Gi"),
    ],
)
def test_parse_memory_invalid(value, fragment):
    assert_invalid(parse_memory, value, "memory_quantity", fragment)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("16Mi", "16Mi"), ("512Mi", "512Mi"), (" 1.5Gi ", "1.5Gi"), ("256Gi", "256Gi"), ("1G", "1G")],
)
def test_validate_memory_valid(value, expected):
    assert validate_memory(value) == expected


@pytest.mark.parametrize(
    ("value", "fragment"),
    [("15Mi", "16Mi"), ("16M", "16Mi"), ("257Gi", "256Gi"), ("275G", "256Gi"), ("1gb", "gb")],
)
def test_validate_memory_bounds(value, fragment):
    assert_invalid(validate_memory, value, "memory_quantity", fragment)


@pytest.mark.parametrize(
    "values",
    [
        {"request_cpu": "250m", "limit_cpu": "1", "request_memory": "256Mi", "limit_memory": "1Gi"},
        {"request_cpu": "1", "limit_cpu": "1000m", "request_memory": "1Gi", "limit_memory": "1Gi"},
        {"request_cpu": "0.5", "limit_cpu": "", "request_memory": "1G", "limit_memory": ""},
        # Unparseable values are left to the per-field validators.
        {"request_cpu": "abc", "limit_cpu": "1", "request_memory": "1Gi", "limit_memory": "x"},
    ],
)
def test_request_within_limit_ok(values):
    validate_request_within_limit(**values)


def test_request_exceeds_limit_both():
    with pytest.raises(ValidationError) as excinfo:
        validate_request_within_limit(
            request_cpu="2", limit_cpu="500m", request_memory="1Gi", limit_memory="512Mi"
        )
    errors = dict_errors(excinfo)
    assert set(errors) == {"cpu_limit", "memory_limit"}
    assert "2" in errors["cpu_limit"][0] and "500m" in errors["cpu_limit"][0]
    assert "1Gi" in errors["memory_limit"][0] and "512Mi" in errors["memory_limit"][0]
    codes = {key: [e.code for e in value] for key, value in excinfo.value.error_dict.items()}
    assert codes == {
        "cpu_limit": ["request_exceeds_limit"],
        "memory_limit": ["request_exceeds_limit"],
    }


def test_request_exceeds_limit_memory_only_compares_bytes():
    # 1G (10^9) is less than 1Gi (2^30), so this is fine; the reverse is not.
    validate_request_within_limit(
        request_cpu="1", limit_cpu="1", request_memory="1G", limit_memory="1Gi"
    )
    with pytest.raises(ValidationError) as excinfo:
        validate_request_within_limit(
            request_cpu="1", limit_cpu="1", request_memory="1Gi", limit_memory="1G"
        )
    assert set(dict_errors(excinfo)) == {"memory_limit"}


# --- Replicas and autoscaling ---------------------------------------------------------------


@pytest.mark.parametrize("value", [0, 1, 3, MAX_REPLICAS])
def test_replicas_valid(value):
    assert validate_replicas(value) == value


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (-1, "-1"),
        (MAX_REPLICAS + 1, str(MAX_REPLICAS + 1)),
        (True, "True"),
        (False, "False"),
        (1.0, "1.0"),
        ("3", "'3'"),
        (None, "None"),
    ],
)
def test_replicas_invalid(value, fragment):
    assert_invalid(validate_replicas, value, "replicas", fragment)


@pytest.mark.parametrize(
    ("min_replicas", "max_replicas", "cpu_target"),
    [(1, 1, 10), (1, MAX_REPLICAS, 95), (2, 5, 70)],
)
def test_autoscale_valid(min_replicas, max_replicas, cpu_target):
    validate_autoscale(min_replicas=min_replicas, max_replicas=max_replicas, cpu_target=cpu_target)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"min_replicas": 0, "max_replicas": 3, "cpu_target": 70}, {"autoscale_min": "0"}),
        ({"min_replicas": 4, "max_replicas": 3, "cpu_target": 70}, {"autoscale_max": "3"}),
        (
            {"min_replicas": 1, "max_replicas": MAX_REPLICAS + 1, "cpu_target": 70},
            {"autoscale_max": str(MAX_REPLICAS + 1)},
        ),
        (
            {"min_replicas": MAX_REPLICAS + 1, "max_replicas": MAX_REPLICAS + 2, "cpu_target": 70},
            {"autoscale_min": str(MAX_REPLICAS + 1), "autoscale_max": str(MAX_REPLICAS + 2)},
        ),
        ({"min_replicas": 1, "max_replicas": 3, "cpu_target": 9}, {"autoscale_cpu_target": "9%"}),
        ({"min_replicas": 1, "max_replicas": 3, "cpu_target": 96}, {"autoscale_cpu_target": "96"}),
        (
            {"min_replicas": True, "max_replicas": "3", "cpu_target": 50.0},
            {"autoscale_min": "True", "autoscale_max": "'3'", "autoscale_cpu_target": "50.0"},
        ),
        (
            {"min_replicas": 0, "max_replicas": 0, "cpu_target": 100},
            {"autoscale_min": "0", "autoscale_max": "0", "autoscale_cpu_target": "100"},
        ),
    ],
)
def test_autoscale_invalid(kwargs, expected):
    with pytest.raises(ValidationError) as excinfo:
        validate_autoscale(**kwargs)
    errors = dict_errors(excinfo)
    assert set(errors) == set(expected)
    for field, fragment in expected.items():
        assert fragment in errors[field][0], errors[field]


def test_autoscale_max_below_min_names_both():
    with pytest.raises(ValidationError) as excinfo:
        validate_autoscale(min_replicas=5, max_replicas=2, cpu_target=50)
    message = dict_errors(excinfo)["autoscale_max"][0]
    assert "2" in message and "5" in message


# --- Environment variables ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("APP_ENV", "APP_ENV"),
        ("_private", "_private"),
        ("lower_case1", "lower_case1"),
        ("db_password", "db_password"),
        ("DB_PASSWORD_FILE", "DB_PASSWORD_FILE"),
        ("MY_HANGAR_THING", "MY_HANGAR_THING"),
        (" PADDED ", "PADDED"),
        ("A" * 128, "A" * 128),
    ],
)
def test_env_key_valid(value, expected):
    assert validate_env_key(value) == expected


@pytest.mark.parametrize("key", sorted(RESERVED_ENV_KEYS))
def test_env_key_reserved(key):
    assert_invalid(
        validate_env_key,
        key,
        "env_key_reserved",
        f"{key} is set by Hangar and cannot be overridden",
    )


def test_reserved_env_keys_cover_aliases():
    for key in ("DB_PASSWORD", "HASH_SALT", "MYSQL_DATABASE", "MARIADB_USERNAME", "S3_PREFIX"):
        assert key in RESERVED_ENV_KEYS


@pytest.mark.parametrize(
    ("value", "code", "fragment"),
    [
        ("HANGAR_TOKEN", "env_key_reserved", "HANGAR_"),
        ("KUBERNETES_SERVICE_HOST", "env_key_reserved", "KUBERNETES_"),
        ("1ABC", "env_key", "starts with a digit"),
        ("MY-VAR", "env_key", "'-'"),
        ("MY VAR", "env_key", "' '"),
        ("MY.VAR", "env_key", "'.'"),
        ("CAFÉ", "env_key", "'É'"),
        ("", "env_key", "empty"),
        ("A" * 129, "env_key", "129"),
    ],
)
def test_env_key_invalid(value, code, fragment):
    assert_invalid(validate_env_key, value, code, fragment)


@pytest.mark.parametrize(
    "value",
    ["", "plain", "  spaced  ", "multi\nline", "ünïcødé", "x" * ENV_VALUE_MAX_BYTES],
)
def test_env_value_valid(value):
    assert validate_env_value(value) == value


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("a\x00b", "NUL"),
        ("x" * (ENV_VALUE_MAX_BYTES + 1), str(ENV_VALUE_MAX_BYTES + 1)),
        # 2-byte characters: under the limit in characters, over it in bytes.
        ("é" * (ENV_VALUE_MAX_BYTES // 2 + 1), str(ENV_VALUE_MAX_BYTES + 2)),
        (None, "NoneType"),
    ],
)
def test_env_value_invalid(value, fragment):
    assert_invalid(validate_env_value, value, "env_value", fragment)


@pytest.mark.parametrize("port", ["0", "65536", "99999"])
def test_a_registry_port_outside_1_65535_is_refused(port):
    assert_invalid(
        parse_image_reference,
        f"registry.example.com:{port}/acme/web:1.0",
        "image_reference",
        "1-65535",
    )


def test_registry_ports_at_the_bounds_are_accepted():
    assert parse_image_reference("registry.example.com:65535/acme/web:1.0").registry.endswith(
        ":65535"
    )
    assert parse_image_reference("[::1]:1/acme/web:1.0").registry == "[::1]:1"
