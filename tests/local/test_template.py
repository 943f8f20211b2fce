import pytest

from local.aws.template import (
    Intrinsics,
    ResolvedResource,
    TemplateError,
    creation_order,
    dependencies,
)


def intrinsics() -> Intrinsics:
    return Intrinsics(
        pseudo={"AWS::Region": "eu-west-1", "AWS::AccountId": "123456789012"},
        resources={"Table": ResolvedResource("orders", {"Arn": "arn:table/orders"})},
        parameters={"Stage": "local"},
    )


def test_ref_getatt_join_sub_select_split_resolve_like_cloudformation() -> None:
    resolve = intrinsics().resolve
    assert resolve({"Ref": "Table"}) == "orders"
    assert resolve({"Fn::GetAtt": ["Table", "Arn"]}) == "arn:table/orders"
    assert resolve({"Fn::Join": ["-", [{"Ref": "Stage"}, "x"]]}) == "local-x"
    assert resolve({"Fn::Sub": "${AWS::Region}/${Table}/${Table.Arn}"}) == (
        "eu-west-1/orders/arn:table/orders"
    )
    assert resolve({"Fn::Sub": ["${A}!", {"A": {"Ref": "Stage"}}]}) == "local!"
    assert resolve({"Fn::Select": [1, {"Fn::Split": [",", "a,b,c"]}]}) == "b"
    assert resolve({"Nested": [{"Ref": "Table"}]}) == {"Nested": ["orders"]}


def test_an_unknown_reference_is_an_error_not_a_guess() -> None:
    with pytest.raises(TemplateError, match="Missing"):
        intrinsics().resolve({"Ref": "Missing"})
    with pytest.raises(TemplateError, match=r"Table\.Name"):
        intrinsics().resolve({"Fn::GetAtt": ["Table", "Name"]})


def test_resources_are_created_after_what_they_refer_to() -> None:
    resources = {
        "Machine": {"Properties": {"Role": {"Fn::GetAtt": ["Role", "Arn"]}}},
        "Rule": {"Properties": {"Target": {"Ref": "Machine"}}, "DependsOn": "Bus"},
        "Bus": {"Properties": {}},
        "Role": {"Properties": {"Doc": {"Fn::Sub": "${Bus.Arn}"}}},
    }
    order = creation_order(resources)
    assert order.index("Role") < order.index("Machine") < order.index("Rule")
    assert order.index("Bus") < order.index("Role")
    assert dependencies(resources["Rule"]) == {"Machine", "Bus"}


def test_a_reference_cycle_is_reported() -> None:
    with pytest.raises(TemplateError, match="circular"):
        creation_order({"A": {"Properties": {"x": {"Ref": "B"}}}, "B": {"DependsOn": ["A"]}})
