"""The deployment files checked by the real tools: hadolint on every Dockerfile, checkov on
the rendered chart, k8s/ and infra/terraform, Chaos Mesh experiments against Chaos Mesh's
CRD schemas, and Terraform parsed (python-hcl2) and formatted."""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import hcl2
import jsonschema
import pytest
import yaml

from tests.contract.charts.test_forgeline_chart import CHART, CRDS, PROFILES, REPO, rendered, values_of

pytestmark = pytest.mark.contract

TOOLS = Path(os.environ.get("FORGELINE_TOOLS_BIN", REPO / ".venv-tools" / "bin"))
TERRAFORM = REPO / "infra" / "terraform"
DOCKERFILES = [REPO / "Dockerfile", *sorted((REPO / "images").glob("*.Dockerfile"))]
CHAOS_CRDS = {
    "Workflow": "chaos-mesh.org_workflows.yaml",
    "PodChaos": "chaos-mesh.org_podchaos.yaml",
    "NetworkChaos": "chaos-mesh.org_networkchaos.yaml",
}


def tool(name: str) -> str:
    path = TOOLS / name
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make tools` (checkov and hadolint live in their own virtualenv)")
    return str(path)


def checkov(*paths: Path, framework: str) -> dict[str, Any]:
    """checkov's JSON report (one framework) over directories or files, with the repo's config."""
    args = [tool("checkov"), "--config-file", str(REPO / ".checkov.yaml"), "--framework", framework, "-o", "json"]
    for path in paths:
        args += ["-d" if path.is_dir() else "-f", str(path)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=600, check=False)
    report = json.loads(done.stdout)
    [result] = report if isinstance(report, list) else [report]
    return dict(result)


def assert_clean(result: dict[str, Any]) -> None:
    failed = [(f["check_id"], f["resource"], f["file_path"]) for f in result["results"]["failed_checks"]]
    assert not failed, f"checkov failed checks: {failed}"
    for skipped in result["results"]["skipped_checks"]:
        reason = (skipped.get("check_result") or {}).get("suppress_comment", "")
        assert len(reason) > 15, f"{skipped['check_id']} on {skipped['resource']} is skipped without a reason"
    assert result["summary"]["passed"] > 0


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_dockerfiles_pass_hadolint(dockerfile: Path) -> None:
    done = subprocess.run([tool("hadolint"), str(dockerfile)], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_dockerfiles_run_as_non_root_without_build_tools_in_the_final_stage() -> None:
    for dockerfile in DOCKERFILES:
        text = dockerfile.read_text()
        final = text[text.rindex("\nFROM ") :]
        assert re.search(r"^USER [1-9]", final, re.M), f"{dockerfile.name}: the final stage must not run as root"
        assert not re.search(r"\b(gcc|build-essential|python3-dev|g\+\+)\b", final), f"{dockerfile.name}: build tools"
        assert "HEALTHCHECK" in final, f"{dockerfile.name}: say HEALTHCHECK (or HEALTHCHECK NONE, and why)"
        for image in re.findall(r"^FROM (\S+)", text, re.M):
            assert ":" in image and not image.endswith(":latest"), f"{dockerfile.name}: pin {image}"


def test_the_rendered_chart_is_checkov_clean(tmp_path: Path) -> None:
    for profile in PROFILES:
        folder = tmp_path / profile
        folder.mkdir()
        for i, obj in enumerate(rendered(profile)):
            (folder / f"{i:03d}-{obj['kind']}.yaml").write_text(yaml.safe_dump(obj))
    assert_clean(checkov(tmp_path, framework="kubernetes"))


def test_terraform_is_checkov_clean() -> None:
    assert_clean(checkov(TERRAFORM, framework="terraform"))


def test_k8s_folder_and_dockerfiles_are_checkov_clean() -> None:
    for framework in ("kubernetes", "secrets"):
        result = checkov(REPO / "k8s", framework=framework)
        assert not result.get("results", {}).get("failed_checks"), result
    assert_clean(checkov(*DOCKERFILES, framework="dockerfile"))


def test_k8s_chaos_holds_the_rendered_drills_valid_against_chaos_mesh_crds() -> None:
    from forgeline.drills.catalogue import catalogue
    from forgeline.drills.chaosmesh import render

    if not CRDS.exists():
        pytest.skip(f"the official CRD schemas are absent ({CRDS}); they come with the workspace's shared/ folder")

    def schema(file: str, version: str) -> dict[str, Any]:
        crd = yaml.safe_load((CRDS / file).read_text())
        [served] = [v for v in crd["spec"]["versions"] if v["name"] == version]
        return dict(served["schema"]["openAPIV3Schema"])

    workflow_schema = schema(CHAOS_CRDS["Workflow"], "v1alpha1")
    components = {
        o["spec"]["template"]["metadata"]["labels"].get("app.kubernetes.io/component")
        for o in rendered("kind")
        if o["kind"] in ("Deployment", "StatefulSet")
    }
    drills = catalogue()
    files = sorted((REPO / "k8s" / "chaos").glob("*.yaml"))
    assert files, "k8s/chaos holds the drills rendered by `forgeline drill render all --k8s --out k8s/chaos`"
    kinds = set()
    for path in files:
        [workflow] = list(yaml.safe_load_all(path.read_text()))
        assert workflow == render(drills[path.stem]).resources[0], f"{path.name} drifted from its drill: render it again"
        jsonschema.validate(workflow, workflow_schema)
        for template in workflow["spec"]["templates"]:
            kind = template["templateType"]
            if kind in ("PodChaos", "NetworkChaos"):
                kinds.add(kind)
                spec = template[kind[0].lower() + kind[1:]]
                jsonschema.validate(spec, schema(CHAOS_CRDS[kind], "v1alpha1")["properties"]["spec"])
                for selector in (spec["selector"], spec.get("target", {}).get("selector", {})):
                    component = selector.get("labelSelectors", {}).get("app.kubernetes.io/component")
                    assert component is None or component in components, f"{path.name} selects pods the chart lacks ({component})"
    assert kinds == {"PodChaos", "NetworkChaos"}


def test_operator_versions_match_the_crds_the_chart_is_validated_against() -> None:
    versions = dict(
        line.split("=", 1)
        for line in (REPO / "k8s" / "operators" / "versions.env").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    if not CRDS.exists():
        pytest.skip(f"the official CRD schemas are absent ({CRDS})")
    sources = (CRDS / "SOURCES.md").read_text()
    for key, repo in (
        ("STRIMZI_VERSION", "strimzi"),
        ("KEDA_VERSION", "keda"),
        ("KUBERAY_VERSION", "kuberay"),
        ("CHAOS_MESH_VERSION", "chaos-mesh"),
    ):
        assert re.search(rf"{repo}\S* \| .*\| v?{re.escape(versions[key])} \(", sources), (
            f"{key}={versions[key]} is not the CRDs' release"
        )


def unquoted(value: Any) -> Any:
    """python-hcl2 keeps HCL's quotes on labels and strings; drop them."""
    if isinstance(value, dict):
        return {str(k).strip('"'): unquoted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unquoted(v) for v in value]
    return value.strip('"') if isinstance(value, str) else value


def terraform_files() -> dict[str, dict[str, Any]]:
    parsed = {}
    for path in sorted(TERRAFORM.glob("*.tf")):
        with path.open() as handle:
            parsed[path.name] = unquoted(hcl2.load(handle))
    return parsed


def test_terraform_parses_pins_modules_and_protects_the_bucket() -> None:
    parsed = terraform_files()
    modules = [m for doc in parsed.values() for block in doc.get("module", []) for m in block.values()]
    assert modules
    for module in modules:
        assert re.fullmatch(r"\d+\.\d+\.\d+", str(module["version"])), f"pin {module['source']} exactly"
    resources = {name for doc in parsed.values() for block in doc.get("resource", []) for kind in block for name in [kind]}
    for needed in (
        "aws_s3_bucket_server_side_encryption_configuration",
        "aws_s3_bucket_versioning",
        "aws_s3_bucket_public_access_block",
        "aws_msk_cluster",
        "aws_db_instance",
        "aws_elasticache_replication_group",
    ):
        assert needed in resources, needed


def test_terraform_makes_an_irsa_role_for_every_service_the_chart_gives_aws_or_kafka_access() -> None:
    variables = {k: v for doc in terraform_files().values() for block in doc.get("variable", []) for k, v in block.items()}
    chart_services = {name for name, svc in values_of("default")["services"].items() if svc.get("awsAccess")}
    assert set(variables["s3_services"]["default"]) == chart_services
    # With MSK IAM every service, and the prepare Job that creates the topics, signs its Kafka connections.
    assert set(variables["kafka_services"]["default"]) == {*values_of("default")["services"], "prepare"}
    prefix = values_of("eks")["irsa"]["roleArnPrefix"]
    assert prefix.endswith(f":role/{variables['name']['default']}-"), "IRSA role names: <name>-<service>"


@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not installed; `terraform fmt` runs where it is")
def test_terraform_is_formatted() -> None:
    done = subprocess.run(
        ["terraform", "fmt", "-check", "-diff", "-recursive", str(TERRAFORM)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout


def test_the_chart_ships_a_values_schema_and_notes() -> None:
    assert json.loads((CHART / "values.schema.json").read_text())["additionalProperties"] is False
    assert "port-forward" in (CHART / "templates" / "NOTES.txt").read_text()
