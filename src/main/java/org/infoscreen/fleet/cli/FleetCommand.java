package org.infoscreen.fleet.cli;

import org.infoscreen.fleet.Application;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * The command line of {@code java -jar infoscreen-fleet.jar}: without a subcommand it runs the
 * service (further arguments go to Camel Main); subcommands are tools around it. A new subcommand
 * is a picocli {@code @Command} class listed in {@code subcommands} below.
 */
@Command(name = "infoscreen-fleet", mixinStandardHelpOptions = true, versionProvider = FleetCommand.Version.class,
        description = "Fleet health service for digital-signage displays. Without a subcommand: run the service.",
        subcommands = {TokenCommand.class, org.infoscreen.fleet.simulator.SimulateCommand.class, CommandLine.HelpCommand.class})
public class FleetCommand implements Callable<Integer> {

    @CommandLine.Unmatched
    List<String> camelArgs = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        Application.runService(camelArgs.toArray(String[]::new));
        return 0;
    }

    /** @return the command line, ready for {@code execute(args)} */
    public static CommandLine commandLine() {
        return new CommandLine(new FleetCommand());
    }

    /** Version from the jar manifest. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = FleetCommand.class.getPackage().getImplementationVersion();
            return new String[] {"infoscreen-fleet " + (v == null ? "(development build)" : v)};
        }
    }
}
