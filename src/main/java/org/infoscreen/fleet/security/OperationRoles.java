package org.infoscreen.fleet.security;

import org.apache.camel.CamelContext;
import org.apache.camel.model.Model;
import org.apache.camel.model.rest.RestDefinition;
import org.apache.camel.model.rest.SecurityDefinition;
import org.apache.camel.model.rest.VerbDefinition;
import org.apache.camel.spi.RestConfiguration;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The role each HTTP operation needs, read from the REST DSL: an operation declares it as
 * {@code security: [{key: bearer, scopes: <role>}]} on its verb (which the OpenAPI document shows
 * too). An operation without a declared role, and any path that is no REST operation and not
 * listed in {@code generated} (the OpenAPI document, metrics), needs {@link Role#ADMIN}: fail
 * closed. When several operation templates match one path (a literal segment and a parameter),
 * the highest of their roles applies, so the table never grants less than the route Vert.x picks.
 */
public final class OperationRoles {

    /**
     * One REST operation.
     *
     * @param id       operation id
     * @param method   HTTP method, upper case
     * @param template path template, e.g. {@code /api/clients/{uuid}}
     * @param role     required role
     * @param declared whether the REST DSL declares the role (false: admin by default)
     */
    public record Operation(String id, String method, String template, Role role, boolean declared) {
        Pattern pattern() {
            StringBuilder re = new StringBuilder();
            for (String segment : template.split("/")) {
                if (segment.isEmpty()) {
                    continue;
                }
                re.append('/');
                re.append(segment.startsWith("{") && segment.endsWith("}") ? "[^/]+" : Pattern.quote(segment));
            }
            return Pattern.compile(re + "/?");
        }
    }

    private record Compiled(Operation operation, Pattern pattern) {
    }

    private final List<Compiled> operations;
    private final Map<String, Role> generated;

    private OperationRoles(List<Operation> operations, Map<String, Role> generated) {
        this.operations = operations.stream().map(o -> new Compiled(o, o.pattern())).toList();
        this.generated = Map.copyOf(generated);
    }

    /** @return a table where everything needs admin (before the REST DSL is read) */
    public static OperationRoles adminOnly() {
        return new OperationRoles(List.of(), Map.of());
    }

    /**
     * @param context   the Camel context, with its REST definitions loaded
     * @param generated roles of HTTP endpoints that Camel generates (exact paths), e.g. the OpenAPI document
     * @return the table
     * @throws IllegalStateException when an operation declares something that is not one role
     */
    public static OperationRoles of(CamelContext context, Map<String, Role> generated) {
        Model model = context.getCamelContextExtension().getContextPlugin(Model.class);
        RestConfiguration config = context.getRestConfiguration();
        String contextPath = config.getContextPath() == null ? "" : config.getContextPath();
        List<Operation> ops = new ArrayList<>();
        for (RestDefinition rest : model.getRestDefinitions()) {
            String base = join(contextPath, rest.getPath());
            for (VerbDefinition verb : rest.getVerbs()) {
                String method = verb.asVerb().toUpperCase(Locale.ROOT);
                String template = join(base, verb.getPath());
                Role role = declaredRole(verb, method + " " + template);
                ops.add(new Operation(verb.getId(), method, template, role == null ? Role.ADMIN : role, role != null));
            }
        }
        return new OperationRoles(ops, generated);
    }

    private static Role declaredRole(VerbDefinition verb, String label) {
        List<SecurityDefinition> security = verb.getSecurity();
        if (security == null || security.isEmpty()) {
            return null;
        }
        Role role = null;
        for (SecurityDefinition s : security) {
            String scopes = s.getScopes() == null ? "" : s.getScopes().strip();
            try {
                Role r = Role.of(scopes);
                if (role != null && role != r) {
                    throw new IllegalArgumentException("two roles");
                }
                role = r;
            } catch (IllegalArgumentException e) {
                throw new IllegalStateException("REST operation " + label + " (" + verb.getId()
                        + "): security scopes must be exactly one role of viewer, operator, admin; found '" + scopes + "'");
            }
        }
        return role;
    }

    private static String join(String a, String b) {
        String left = a == null ? "" : a;
        String right = b == null ? "" : b;
        String joined = (left + "/" + right).replaceAll("/+", "/");
        return joined.length() > 1 && joined.endsWith("/") ? joined.substring(0, joined.length() - 1) : joined;
    }

    /**
     * @param method HTTP method ({@code HEAD} counts as {@code GET})
     * @param path   normalized request path
     * @return the role needed; {@link Role#ADMIN} for anything not declared
     */
    public Role required(String method, String path) {
        String m = "HEAD".equals(method) ? "GET" : method;
        Role generatedRole = generated.get(path);
        if (generatedRole != null) {
            return generatedRole;
        }
        Role found = null;
        for (Compiled c : operations) {
            if (c.operation().method().equals(m) && c.pattern().matcher(path).matches()
                    && (found == null || c.operation().role().includes(found))) {
                found = c.operation().role();
            }
        }
        return found == null ? Role.ADMIN : found;
    }

    /** @return the REST operations and their roles, in declaration order */
    public List<Operation> operations() {
        return operations.stream().map(Compiled::operation).toList();
    }

    /** @return the Camel-generated endpoints with their roles (exact paths) */
    public Map<String, Role> generated() {
        return generated;
    }
}
