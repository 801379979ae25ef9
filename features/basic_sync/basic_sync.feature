Feature: Basic sync between the legacy and the revamp platform
  Whatever one application writes in its own database appears, mapped, in the other one,
  without either application knowing about the other.

  Background:
    Given the legacy and revamp databases are empty and in sync

  Scenario: A user created on legacy appears on revamp
    When the legacy application creates the user "alice"
    And the sync runs
    Then revamp has the user "alice" with email "alice@example.com" and status "Active"
    And both databases hold the same data

  Scenario: A user created on revamp appears on legacy
    When the revamp application creates the user "bruno" with status "Inactive"
    And the sync runs
    Then legacy has the user "bruno" with email "bruno@example.com" and status "inactive"
    And both databases hold the same data

  Scenario: A post keeps its author although ids differ between the databases
    Given the revamp application creates the users "rita", "rosa" and "ruth"
    And the legacy application creates the user "alice"
    And the sync has run
    And "alice" has different ids on legacy and revamp
    When the legacy application creates the post "Hello world" by "alice"
    And the sync runs
    Then on revamp the post "Hello world" is written by "alice"
    And both databases hold the same data

  Scenario: An update on one side is applied on the other
    Given the legacy application creates the user "alice"
    And the sync has run
    When the legacy application changes the email of "alice" to "alice@new.example.com"
    And the legacy application changes the status of "alice" to "inactive"
    And the sync runs
    Then revamp has the user "alice" with email "alice@new.example.com" and status "Inactive"
    And both databases hold the same data
