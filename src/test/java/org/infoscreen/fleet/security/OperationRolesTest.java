package org.infoscreen.fleet.security;

import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.impl.DefaultCamelContext;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The operation → role table read from REST DSL security scopes. */
class OperationRolesTest {

    private static OperationRoles table(RouteBuilder routes) throws Exception {
        try (DefaultCamelContext context = new DefaultCamelContext()) {
            context.addRoutes(routes);
            return OperationRoles.of(context, Map.of("/api/openapi.json", Role.VIEWER));
        }
    }

    @Test
    void declaredRolesApplyAndEverythingElseNeedsAdmin() throws Exception {
        OperationRoles roles = table(new RouteBuilder() {
            @Override
            public void configure() {
                rest("/api")
                        .get("/clients/{uuid}").id("getClient").security("bearer", "viewer").to("direct:a1")
                        .get("/clients/crashed").id("crashed").security("bearer", "operator").to("direct:a2")
                        .post("/clients/{uuid}/commands").id("create").security("bearer", "operator").to("direct:a3")
                        .delete("/clients/{uuid}/power_target").id("undeclared").to("direct:a4");
            }
        });
        assertThat(roles.required("GET", "/api/clients/7c9e6679-7425-40de-944b-e07fc1f90ae7")).isEqualTo(Role.VIEWER);
        assertThat(roles.required("HEAD", "/api/clients/7c9e6679-7425-40de-944b-e07fc1f90ae7/")).isEqualTo(Role.VIEWER);
        // a literal segment and a parameter both match: the higher role applies
        assertThat(roles.required("GET", "/api/clients/crashed")).isEqualTo(Role.OPERATOR);
        assertThat(roles.required("POST", "/api/clients/x/commands")).isEqualTo(Role.OPERATOR);
        assertThat(roles.required("DELETE", "/api/clients/x/power_target")).isEqualTo(Role.ADMIN);
        assertThat(roles.operations()).filteredOn(o -> o.id().equals("undeclared")).singleElement()
                .satisfies(o -> assertThat(o.declared()).isFalse());
        // unknown paths and methods: fail closed
        assertThat(roles.required("PUT", "/api/clients/x")).isEqualTo(Role.ADMIN);
        assertThat(roles.required("GET", "/api/clients/x/y/z")).isEqualTo(Role.ADMIN);
        assertThat(roles.required("GET", "/anything")).isEqualTo(Role.ADMIN);
        assertThat(roles.required("GET", "/api/openapi.json")).isEqualTo(Role.VIEWER);
    }

    @Test
    void aScopeThatIsNotOneRoleStopsTheStart() {
        assertThatThrownBy(() -> table(new RouteBuilder() {
            @Override
            public void configure() {
                rest("/api").post("/x").id("x").security("bearer", "operator,admin").to("direct:a");
            }
        })).hasMessageContaining("exactly one role");
        assertThatThrownBy(() -> table(new RouteBuilder() {
            @Override
            public void configure() {
                rest("/api").post("/x").id("x").security("bearer", "root").to("direct:a");
            }
        })).hasMessageContaining("POST /api/x");
    }
}
