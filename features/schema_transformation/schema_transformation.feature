Feature: Schema transformation
  The two platforms name their columns differently and write status values in different
  cases; the sync translates both ways.

  Background:
    Given the legacy and revamp databases are empty and in sync

  Scenario: Field names are translated both ways
    When the legacy application creates a user:
      | username | email             | status |
      | alice    | alice@example.com | active |
    And the revamp application creates a user:
      | user_name | email_address   | status |
      | bruno     | bruno@example.com | Banned |
    And the sync runs
    Then revamp holds the user "alice" as:
      | user_name | email_address     | status |
      | alice     | alice@example.com | Active |
    And legacy holds the user "bruno" as:
      | username | email             | status |
      | bruno    | bruno@example.com | banned |
    And "alice" was created at the same moment on legacy and revamp
    And "bruno" was created at the same moment on legacy and revamp

  Scenario: Post fields are translated both ways
    Given the legacy application creates the user "alice"
    And the sync has run
    When the legacy application creates the post "From legacy" by "alice"
    And the revamp application creates the post "From revamp" by "alice"
    And the sync runs
    Then revamp holds the post "From legacy" as:
      | title       | content           | status |
      | From legacy | About From legacy | Draft  |
    And legacy holds the post "From revamp" as:
      | post_title  | post_content      | status |
      | From revamp | About From revamp | draft  |

  Scenario Outline: Status values change case on the way
    When the legacy application creates the user "lena" with status "<legacy status>"
    And the revamp application creates the user "rick" with status "<revamp status>"
    And the sync runs
    Then revamp has the user "lena" with email "lena@example.com" and status "<revamp status>"
    And legacy has the user "rick" with email "rick@example.com" and status "<legacy status>"

    Examples:
      | legacy status | revamp status |
      | active        | Active        |
      | inactive      | Inactive      |
      | banned        | Banned        |
